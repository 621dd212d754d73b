"""The character table and folding: one character to one character, and a way back."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensitive_words.charmap import DETECT_TABLE, MATCH_TABLE, NOISE, is_noise, normalise_char
from sensitive_words.normalise import Folded, fold_word, normalise


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("ＡＢＣｘｙｚ", "abcxyz"),  # full-width letters and case
        ("ABCxyz", "abcxyz"),
        ("０１２３４５６７８９", "0123456789"),  # full-width digits
        ("①②⑨⓪", "1290"),  # circled
        ("⑴⑵", "12"),  # parenthesised
        ("⒈⒉", "12"),  # with full stop
        ("❶❷➀➊", "1211"),  # dingbats
        ("¹²₃", "123"),  # super- and subscripts
        ("㈠㈡", "一二"),  # parenthesised ideographs
        ("ⒶⓑⓏ🅐🅰🄰⒜", "abzaaaa"),  # circled, squared, parenthesised letters
        ("發後臺灣麼", "发后台湾么"),  # traditional → simplified
        ("賭博", "赌博"),
        ("⼀", "一"),  # Kangxi radical
    ],
)
def test_normalise_maps_styles(src: str, expected: str) -> None:
    assert normalise(src) == expected


def test_noise_characters_are_marked() -> None:
    noise = " \t\u3000，。！？、；：“”‘’（）【】《》…—-_.,!?*#@~\u200b\u200c\u200d\ufeff\u2060😀👍🏻❤\ufe0f♥★\U000e0020"
    for ch in noise:
        assert is_noise(ch), f"U+{ord(ch):04X} should be noise"
    assert noise.translate(MATCH_TABLE).strip(NOISE) == "\U000e0020"  # above the table: see ASTRAL_NOISE
    for ch in "垃圾aZ09一①Ⓐ發":
        assert not is_noise(ch)


def test_table_is_length_preserving_and_idempotent() -> None:
    for cp in range(0x30000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        target = DETECT_TABLE[cp]
        assert target >= len(DETECT_TABLE) or DETECT_TABLE[target] == target
        assert MATCH_TABLE[cp] in (0, target)


def test_noise_follows_unicode_categories() -> None:
    for ch in "!,。😀\u200b\u0301♥":
        assert unicodedata.category(ch)[0] in "PSZCM"
        assert is_noise(ch)
    assert normalise_char("Ａ") == "a"


@given(st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_normalise_keeps_length(text: str) -> None:
    assert len(normalise(text)) == len(text)
    assert len(text.translate(MATCH_TABLE)) == len(text)


def test_fold_word_collapses_runs_and_drops_noise() -> None:
    assert fold_word("垃 圾") == ("垃圾", (1, 1))
    assert fold_word("妈妈") == ("妈", (2,))
    assert fold_word("哈哈哈好") == ("哈好", (3, 1))
    assert fold_word("ＳＢ") == ("sb", (1, 1))
    assert fold_word("，。") == ("", ())


def test_folded_maps_back_to_original() -> None:
    text = "你是 垃垃-垃圾！！好"
    folded = Folded(text)
    assert folded.text == "你是垃圾好"
    assert folded.run_length(2) == 3
    assert folded.span(2, 3) == (3, 8)
    assert text[3:8] == "垃垃-垃圾"
    assert folded.span(4, 4) == (10, 11)


def test_folded_plain_text_is_identity() -> None:
    folded = Folded("供电所通知")
    assert folded.text == "供电所通知"
    assert not folded.has_runs
    assert folded.span(1, 2) == (1, 3)
    assert folded.data == "供电所通知".encode()


def test_folded_astral_noise() -> None:
    text = "赌\U000e0020\U000e0021博"
    assert Folded(text).text == "赌博"
    assert Folded(text).span(0, 1) == (0, 4)
