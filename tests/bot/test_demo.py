"""`make demo` is the newcomer's first contact: the scripted day must keep passing end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.demo import run_demo


async def test_the_demo_day_passes_every_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert await run_demo(data_dir=tmp_path)
    shown = capsys.readouterr().out
    for step in ("已在处理（工单 1）", "您选择了 2 分（不满意）", "不满意的原因：处理太慢", "感谢您的评价（5 分）",
                 "【停电通知】", "工单 1【故障报修】已归档", "今日考核"):
        assert step in shown, step
