"""Word-list and whitelist files."""

from __future__ import annotations

from pathlib import Path

import pytest

from sensitive_words import STARTER_WHITELIST, STARTER_WORDS, Level, ListFormatError, Whitelist, WordList
from sensitive_words.lists import WordEntry, parse_entry


def test_line_formats() -> None:
    wl = WordList.from_lines(
        [
            "# a comment",
            "",
            "赌博",
            "网赌\tgambling",
            "代开发票\tad\tblock",
            "大麻\tdrugs\tlog\tboundary",
            "刷单\t\t\tboundary   # trailing comment",
            "  ",
        ],
        name="t",
    )
    assert wl.entries == (
        WordEntry("赌博", "general", Level.REVIEW),
        WordEntry("网赌", "gambling", Level.REVIEW),
        WordEntry("代开发票", "ad", Level.BLOCK),
        WordEntry("大麻", "drugs", Level.LOG, boundary=True),
        WordEntry("刷单", "general", Level.REVIEW, boundary=True),
    )


def test_level_is_case_insensitive_and_category_default_is_configurable() -> None:
    wl = WordList.from_lines(["x\t\tBLOCK"], default_category="ads")
    assert wl.entries[0] == WordEntry("x", "ads", Level.BLOCK)


@pytest.mark.parametrize("line", ["词\tads\tdelete", "词\tads\tblock\tweird", "词\ta\tb\tc\td", "\tads"])
def test_bad_lines_name_the_line(line: str) -> None:
    with pytest.raises(ListFormatError, match=r"mylist:2:"):
        WordList.from_lines(["ok", line], name="mylist")


def test_parse_entry_blank() -> None:
    assert parse_entry("   # only a comment") is None


def test_from_file_and_reload(tmp_path: Path) -> None:
    path = tmp_path / "words.txt"
    path.write_text("\ufeff赌博\tgambling\tblock\n", encoding="utf-8")
    wl = WordList.from_file(path)
    assert wl.name == "words" and wl.path == path and len(wl) == 1
    path.write_text("赌博\n网赌\n", encoding="utf-8")
    assert [e.word for e in wl.reloaded().entries] == ["赌博", "网赌"]


def test_with_and_without() -> None:
    wl = WordList.from_lines(["a", "b"]).with_entries([WordEntry("c")]).without_words(["a"])
    assert [e.word for e in wl.entries] == ["b", "c"]


def test_whitelist_file(tmp_path: Path) -> None:
    path = tmp_path / "allow.txt"
    path.write_text("# trade words\n垃圾分类\n发票\tignored field\n\n", encoding="utf-8")
    white = Whitelist.from_file(path)
    assert white.phrases == ("垃圾分类", "发票")
    assert white.with_phrases(["电话"]).without_phrases(["发票"]).phrases == ("垃圾分类", "电话")


def test_starter_files_parse() -> None:
    words = WordList.from_file(STARTER_WORDS)
    white = Whitelist.from_file(STARTER_WHITELIST)
    assert len(words) > 150 and len(white) > 40
    categories = {e.category for e in words.entries}
    assert {"ad", "fraud", "gambling", "abuse", "pii"} <= categories
    assert {"发票", "电话", "通知", "缴费"} <= set(white.phrases)
    assert len({e.word for e in words.entries}) == len(words), "duplicate entries"
