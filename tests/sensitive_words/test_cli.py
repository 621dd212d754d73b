"""``run_check``: the function behind ``gridbot words check``."""

from __future__ import annotations

import io
import json
from pathlib import Path

from sensitive_words import run_check


def test_run_check_prints_one_json_object_per_line(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    allow = tmp_path / "allow.txt"
    words.write_text("# list\n垃圾\tabuse\tlog\n赌博\tgambling\tblock\n", encoding="utf-8")
    allow.write_text("垃圾分类\n", encoding="utf-8")
    stdin = io.StringIO("你是垃圾\r\n垃圾分类\n網上賭。博，电话138-1234-5678\n")
    stdout = io.StringIO()
    assert run_check(words, allow, stdin, stdout) == 0
    lines = [json.loads(x) for x in stdout.getvalue().splitlines()]
    assert lines[0] == {
        "line": 1,
        "hits": [{"word": "垃圾", "category": "abuse", "level": "log", "start": 2, "end": 4, "text": "垃圾"}],
    }
    assert lines[1] == {"line": 2, "hits": []}
    assert lines[2]["hits"] == [
        {"word": "赌博", "category": "gambling", "level": "block", "start": 2, "end": 5, "text": "賭。博"},
        {"word": "mobile", "category": "pii", "level": "review", "start": 8, "end": 21, "text": "138-1234-5678"},
    ]
    assert "賭。博" in stdout.getvalue()  # UTF-8 text, not \\u escapes


def test_run_check_without_whitelist(tmp_path: Path) -> None:
    words = tmp_path / "words.txt"
    words.write_text("垃圾\n", encoding="utf-8")
    stdout = io.StringIO()
    assert run_check(words, None, io.StringIO("垃圾分类"), stdout) == 0
    assert json.loads(stdout.getvalue())["hits"][0]["word"] == "垃圾"


def test_run_check_reports_bad_lists(tmp_path: Path, capsys: object) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("词\tx\tdelete\n", encoding="utf-8")
    assert run_check(bad, None, io.StringIO(""), io.StringIO()) == 2
    assert run_check(tmp_path / "missing.txt", None, io.StringIO(""), io.StringIO()) == 2
