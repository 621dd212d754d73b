"""`gridbot run` as an operator runs it: start-up messages, and a clean stop on SIGTERM and SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRIDBOT_")}
    env |= {"GRIDBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'svc.db'}", "GRIDBOT_HTTP__PORT": "0"}
    return env


def _gridbot(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "bot.cli", *args], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float = 30) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if needle in line:
            return seen
    proc.kill()
    raise AssertionError(f"{needle!r} never printed; got {seen}")


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_run_sandbox_starts_and_stops_gracefully(tmp_path: Path, stop_signal: signal.Signals) -> None:
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=tmp_path, env=_env(tmp_path),
                   check=True, capture_output=True)
    proc = _gridbot(tmp_path, "run", "--sandbox")
    try:
        lines = _wait_for_line(proc, "gridbot is running")
        assert any("sandbox Bot API: http://127.0.0.1:" in line for line in lines)
        proc.send_signal(stop_signal)
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, out
        assert "Traceback" not in out
    finally:
        proc.kill()


def test_sighup_reloads_the_word_lists(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=tmp_path, env=_env(tmp_path),
                   check=True, capture_output=True)
    proc = _gridbot(tmp_path, "run", "--sandbox")
    try:
        _wait_for_line(proc, "gridbot is running")
        proc.send_signal(signal.SIGHUP)
        _wait_for_line(proc, "sensitive-word lists reloaded")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()


def test_run_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    proc = _gridbot(tmp_path, "run", "--sandbox")
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert "run `gridbot db upgrade` first" in out and "Traceback" not in out
