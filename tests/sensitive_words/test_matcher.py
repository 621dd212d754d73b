"""The matcher on hand-picked evasions and whitelist cases."""

from __future__ import annotations

import pytest

from sensitive_words import Level, Matcher, WordEntry, WordList, fold_word

WORDS = WordList.from_lines(
    [
        "垃圾\tabuse\tlog",
        "赌博\tgambling\tblock",
        "妈妈\tx",
        "sb\tabuse",
        "vx\tad",
        "6合彩\tgambling",
        "代开发票\tad\tblock",
    ]
)
MATCHER = Matcher(WORDS.entries, ["垃圾分类", "发票"])


def found(text: str) -> list[tuple[str, str]]:
    return [(h.word, h.text) for h in MATCHER.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你是垃圾", [("垃圾", "垃圾")]),
        ("垃圾分类很重要", []),  # inside a whitelisted phrase
        ("垃 圾分类", []),  # the phrase matches through noise as well
        ("垃圾，分类", []),
        ("垃圾车和垃圾分类", [("垃圾", "垃圾")]),
        ("垃-圾", [("垃圾", "垃-圾")]),  # noise kept inside the hit
        ("垃\u200b圾", [("垃圾", "垃\u200b圾")]),  # zero-width
        ("垃😀圾", [("垃圾", "垃😀圾")]),  # emoji
        ("垃垃垃圾圾", [("垃圾", "垃垃垃圾圾")]),  # repeats collapse
        ("網上賭博", [("赌博", "賭博")]),  # traditional
        ("賭　博", [("赌博", "賭　博")]),  # ideographic space
        ("我妈来了", []),  # 妈妈 needs the doubled character
        ("我妈妈来了", [("妈妈", "妈妈")]),
        ("我妈，妈来了", [("妈妈", "妈，妈")]),
        ("你是SB", [("sb", "SB")]),
        ("你是ＳＢ", [("sb", "ＳＢ")]),  # full-width
        ("你是Ⓢⓑ", [("sb", "Ⓢⓑ")]),  # circled letters
        ("插上usb接口", []),  # ASCII words only match whole ASCII words
        ("S.B.", [("sb", "S.B")]),
        ("加ＶＸ", [("vx", "ＶＸ")]),
        ("买⑥合彩", [("6合彩", "⑥合彩")]),  # digit styles
        ("买❻合彩", [("6合彩", "❻合彩")]),
        ("买16合彩", []),
        ("代开发票", [("代开发票", "代开发票")]),  # not inside 发票, so not whitelisted
        ("", []),
    ],
)
def test_examples(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_hits_carry_entry_fields_and_offsets() -> None:
    text = "哈哈，網上賭-博是違法的"
    (hit,) = MATCHER.find(text)
    assert (hit.word, hit.category, hit.level) == ("赌博", "gambling", Level.BLOCK)
    assert text[hit.start : hit.end] == hit.text == "賭-博"


def test_overlapping_words_all_reported_in_order() -> None:
    m = Matcher([WordEntry("电费补贴"), WordEntry("补贴领取"), WordEntry("补贴")])
    hits = m.find("电费补贴领取")
    assert [(h.word, h.start, h.end) for h in hits] == [("电费补贴", 0, 4), ("补贴", 2, 4), ("补贴领取", 2, 6)]


def test_same_folded_word_keeps_strongest_level() -> None:
    m = Matcher([WordEntry("赌博", level=Level.LOG), WordEntry("賭博", level=Level.BLOCK), WordEntry("赌 博")])
    (hit,) = m.find("赌博")
    assert (hit.word, hit.level) == ("賭博", Level.BLOCK)
    assert m.word_count == 1


def test_noise_only_words_are_ignored() -> None:
    m = Matcher([WordEntry("，，"), WordEntry("😀")])
    assert m.word_count == 0 and m.find("😀，，") == []


def test_boundary_callback_only_for_flagged_entries() -> None:
    calls: list[tuple[int, int]] = []

    def never(text: str, start: int, end: int) -> bool:
        calls.append((start, end))
        return False

    m = Matcher([WordEntry("证明", boundary=True), WordEntry("明天")], boundary=never)
    assert [h.word for h in m.find("结婚证明天交")] == ["明天"]
    assert calls == [(2, 4)]


def test_long_text_offsets() -> None:
    text = ("供电所通知：明天停电。" * 500) + "赌。博" + ("谢谢大家！" * 500)
    (hit,) = MATCHER.find(text)
    assert text[hit.start : hit.end] == "赌。博" and hit.start == 5500


def test_mixed_character_widths() -> None:
    # 𠀀 (4 bytes) + д (2 bytes) make the byte count a multiple of 3 without every character being 3
    m = Matcher([WordEntry("赌"), WordEntry("博")])
    assert [(h.word, h.start) for h in m.find("𠀀赌д博")] == [("赌", 1), ("博", 3)]
    assert [(h.word, h.start) for h in m.find("ab赌")] == [("赌", 2)]


def test_key_characters_above_the_table() -> None:
    m = Matcher([WordEntry("\U00030000好"), WordEntry("好好学习")])
    text = "x\U00030000 好好好学习😀"
    assert [(h.word, h.start, h.end) for h in m.find(text)] == [("\U00030000好", 1, 6), ("好好学习", 3, 8)]


def test_more_key_characters_than_aligned_codes() -> None:
    # past the lead x trail square a code may start on a trail byte: misaligned matches are dropped
    words = [chr(0x4E00 + i) + chr(0x4E00 + (i * 7 + 3) % 12000) for i in range(12000)]
    m = Matcher([WordEntry(w) for w in words])
    assert not m._coder.aligned
    planted = words[::97]
    text = "".join(planted)
    hits = m.find(text)
    assert {(w, 2 * i, 2 * i + 2) for i, w in enumerate(planted)} <= {(h.word, h.start, h.end) for h in hits}
    assert all(fold_word(h.text)[0] == fold_word(h.word)[0] and h.end - h.start == 2 for h in hits)
