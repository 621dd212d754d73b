"""Running the `gridbot` typer app in-process, in a working directory and environment of its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app

runner = CliRunner()


def isolate(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database: str | None = None) -> Path:
    """No stray ./gridbot.toml or GRIDBOT_* variable changes the command under test; optionally a fresh SQLite."""
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("GRIDBOT_") and not key.startswith("GRIDBOT_TEST"):
            monkeypatch.delenv(key)
    if database:
        monkeypatch.setenv("GRIDBOT_DATABASE_URL", f"sqlite:///{tmp_path / database}")
    return tmp_path


def gridbot(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.output
