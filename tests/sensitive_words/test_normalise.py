"""The character table and folding: one character to one character, and a way back."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensitive_words import Matcher, WordEntry
from sensitive_words.charmap import DETECT_TABLE, MATCH_TABLE, NOISE, is_noise, normalise_char
from sensitive_words.normalise import DIGIT, OTHER, OTHER_ALNUM, RUN, SKIP, Coder, fold_word, normalise


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


def test_coded_text_keeps_every_position() -> None:
    text = "你是 垃垃-垃圾！！好a1"
    coder = Coder(["垃圾", "好"])
    coded, data = coder.code(text)
    g, j, h = coder.codes["垃"], coder.codes["圾"], coder.codes["好"]
    assert coded == OTHER + OTHER + SKIP + g + g + SKIP + g + j + SKIP + SKIP + h + OTHER_ALNUM + DIGIT
    assert data == coded.encode("utf-16-le").decode("latin-1")
    marked = OTHER + OTHER + SKIP + g + RUN + SKIP + RUN + j + SKIP + SKIP + h + OTHER_ALNUM + DIGIT
    assert coder.mark_repeats(coded, [4, 6]) == (marked, marked.encode("utf-16-le").decode("latin-1"))
    # the matcher finds the repeats itself (the automaton matches a key character twice)
    assert Matcher([WordEntry("垃圾"), WordEntry("好")]).scan(text)[2] == marked


def test_codes_are_two_non_whitespace_bytes() -> None:
    coder = Coder(["赌博", "sb", "垃圾"])
    assert coder.codes["s"] == "s" and coder.codes["b"] == "b"  # ASCII letters and digits stand for themselves
    for ch in "赌博垃圾":
        lead, trail = coder.key(ch)
        assert not lead.isspace() and not trail.isspace() and lead != trail
    assert SKIP.encode("utf-16-le").isspace() and RUN.encode("utf-16-le").isspace()


def test_coded_astral_characters() -> None:
    coder = Coder(["赌博"])
    b, o = coder.codes["赌"], coder.codes["博"]
    assert coder.code("赌\U000e0020\U000e0021博")[0] == b + SKIP + SKIP + o  # astral noise
    marked, data = coder.code("赌\U00030000博𠀀")  # above the table, and in it (plane 2)
    assert marked == b + OTHER + o + OTHER and len(data) == 8
