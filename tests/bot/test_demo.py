"""`make demo` is the newcomer's first contact: the scripted day must keep passing end to end."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
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


async def test_with_keep_the_dashboard_stays_up_on_the_demo_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`gridbot demo --keep`: after the day the service stays up; the printed links sign the staff in."""
    monkeypatch.chdir(tmp_path)
    stop = asyncio.Event()
    demo = asyncio.create_task(run_demo(keep=True, data_dir=tmp_path, stop=stop))
    shown = ""
    for _ in range(600):
        shown += capsys.readouterr().out
        if "sandbox control API" in shown or demo.done():
            break
        await asyncio.sleep(0.1)
    try:
        links = dict(re.findall(r"(\S+) 的一次性登录链接（15 分钟内有效）: (\S+)", shown))
        assert set(links) == {"李经理", "赵所长"}, shown
        for name, link in links.items():
            async with httpx.AsyncClient(follow_redirects=False) as browser:
                form = re.search(r'name="form" value="([^"]+)"', (await browser.get(link)).text)
                assert form is not None
                assert (await browser.post(link, data={"form": form.group(1)})).status_code == 303
                tickets = (await browser.get(link.split("/login/")[0] + "/tickets")).text
                assert name in tickets and "家里突然停电了" in tickets  # the demo's own tickets
        assert not demo.done()  # still up after the script, until stopped
    finally:
        stop.set()
        assert await asyncio.wait_for(demo, timeout=30)
