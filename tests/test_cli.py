"""The `gridbot` command line as an operator uses it: set-up, staff, tickets, classify, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import gridbot, isolate


@pytest.fixture(autouse=True)
def station(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path)



def test_commands_refuse_an_unmigrated_database_with_the_fix() -> None:
    code, out = gridbot("tickets", "list")
    assert code == 2
    assert "run `gridbot db upgrade` first" in out and "Traceback" not in out


def test_db_upgrade_then_staff_and_tickets(station: Path) -> None:
    assert gridbot("db", "upgrade")[0] == 0
    assert (station / "data" / "gridbot.db").exists()
    code, out = gridbot("staff", "add", "--platform", "telegram", "--user-id", "900", "--role", "grid_manager",
                        "--name", "李经理", "--grade", "高级")
    assert code == 0 and "李经理 (grid_manager)" in out
    code, out = gridbot("staff", "add", "--platform", "telegram", "--user-id", "900", "--role", "supervisor",
                        "--name", "李所长")
    assert code == 0
    assert gridbot("staff", "list")[1].count("\n") == 1  # updated, not duplicated
    code, out = gridbot("tickets", "list", "--json")
    assert code == 0 and json.loads(out) == []


def test_staff_add_explains_bad_options() -> None:
    gridbot("db", "upgrade")
    code, out = gridbot("staff", "add", "--platform", "telegram", "--user-id", "1", "--role", "boss", "--name", "x")
    assert code == 2 and "expected one of grid_manager, supervisor, admin" in out
    code, out = gridbot("staff", "add", "--platform", "qq", "--user-id", "1", "--role", "admin", "--name", "x")
    assert code == 2 and "expected telegram or wecom" in out


def test_tickets_show_and_list_read_what_the_core_stored(station: Path) -> None:
    gridbot("db", "upgrade")
    from bot.bootstrap import build_app
    from config.settings import load_settings
    from handlers.router import handle
    from tests.handlers.helpers import message

    core = build_app(load_settings())
    handle(message("停电了，快来人看看，电话13812345678"), core.ctx)
    core.engine.dispose()
    code, out = gridbot("tickets", "list", "--json")
    [ticket] = json.loads(out)
    assert code == 0 and ticket["number"] == 1 and ticket["kind"] == "repair" and ticket["status"] == "new"
    code, out = gridbot("tickets", "list", "--status", "resolved", "--json")
    assert json.loads(out) == []
    code, out = gridbot("tickets", "show", "1", "--json")
    shown = json.loads(out)
    assert [c["name"] for c in shown["clocks"]] == ["arrival", "restoration"]
    assert shown["events"][0]["action"] == "opened"
    code, out = gridbot("tickets", "list")
    assert "138****5678" in out and "13812345678" not in out  # the table masks phone numbers
    assert gridbot("tickets", "show", "99")[0] == 1
    code, out = gridbot("tickets", "list", "--status", "bogus")
    assert code == 2 and "expected one of" in out


def test_malformed_database_url_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", "mysql://root@localhost/x")
    code, out = gridbot("db", "upgrade")
    expected = "gridbot: GRIDBOT_DATABASE_URL: only SQLite and PostgreSQL are supported, got 'mysql'"
    assert code == 2 and out.strip() == expected


def test_wrong_setting_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDBOT_TIMEZONE", "Mars/Olympus")
    code, out = gridbot("db", "upgrade")
    assert code == 2 and "GRIDBOT_TIMEZONE: expected an IANA time zone" in out


def test_run_without_a_token_names_the_setting() -> None:
    gridbot("db", "upgrade")
    code, out = gridbot("run")
    assert code == 2 and "GRIDBOT_TELEGRAM__TOKEN" in out and "--sandbox" in out


def test_classify_reads_stdin_and_writes_json_lines() -> None:
    lines = ["家里停电了，快来人", "早上好", "", "😀😀", "请问电费怎么交？", "啊" * 100_000]
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "classify"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    records = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert records[0]["kind"] == "repair" and records[1]["kind"] == "none"
    assert records[2]["kind"] == records[3]["kind"] == "none"
    assert records[4]["kind"] == "inquiry"
    assert all(0.0 <= r["confidence"] <= 1.0 for r in records)


def test_classify_evaluate_prints_precision_and_recall() -> None:
    holdout = Path(__file__).parent / "data" / "appeals_holdout.tsv"
    code, out = gridbot("classify", "--evaluate", str(holdout))
    assert code == 0 and "precision" in out and "repair" in out


def test_words_check_prints_hits_with_offsets_into_the_original() -> None:
    from sensitive_words.data import __file__ as data_init

    data = Path(data_init).parent
    text = "加我微信abc12345领取电费补贴\n垃圾分类做得好\n"
    proc = subprocess.run([sys.executable, "-m", "bot.cli", "words", "check", "--words",
                           str(data / "starter_words.txt"), "--allow", str(data / "starter_whitelist.txt")],
                          input=text, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    first, second = (json.loads(line) for line in proc.stdout.splitlines())
    original = text.splitlines()[0]
    assert {h["word"] for h in first["hits"]} >= {"wechat", "领取电费补贴"}
    assert all(original[h["start"]:h["end"]] == h["text"] for h in first["hits"])
    assert second == {"line": 2, "hits": []}  # 垃圾分类 is whitelisted


def test_sla_due_prints_each_clock_as_the_tickets_compute_it() -> None:
    code, out = gridbot("sla", "due", "--kind", "complaint", "--at", "2026-09-30T10:00", "--json")
    assert code == 0
    clocks = {c["clock"]: c["due_at"] for c in json.loads(out)["clocks"]}
    assert clocks == {"first_contact": "2026-10-01T10:00:00+08:00", "reply": "2026-10-14T00:00:00+08:00"}
    code, out = gridbot("sla", "due", "--kind", "report", "--at", "2027-06-01T10:00")
    assert code == 2 and "chinesecalendar does not know 2027" in out
    code, out = gridbot("sla", "due", "--kind", "gossip", "--at", "2026-09-30T10:00")
    assert code == 2 and "expected one of" in out
    code, out = gridbot("sla", "due", "--kind", "repair", "--at", "yesterday")
    assert code == 2 and "expected an ISO time" in out
