"""The dashboard in a real browser: headless Chromium (Debian's package, driven by Playwright) against the real
service (sandbox Bot API + PTB + core + SQLite, all in this test's event loop).

A manager signs in with the one-time link the bot sends on /login, sees their ticket and not a colleague's,
and resolves it from the page: the customer's group in the sandbox gets the reply at once. A supervisor signs
in with the password set by `gridbot staff passwd` and sees both. Each page is saved as a screenshot under
tests/artifacts/dashboard/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.bootstrap import grid_manager, prepare_database
from config.settings import HttpSettings, Settings, load_settings
from handlers.context import utc_now
from storage.models import Staff
from tests.bot.live import MANAGER, WANG, ZHANG, Live, live_gridbot
from tests.bot.processes import REPO_ROOT
from tests.cli_helpers import gridbot, isolate

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "tests" / "artifacts" / "dashboard"
COLLEAGUE, SUPERVISOR = 900002, 900010
PASSWORD = "幸福村供电所2026"
MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _install_chromium() -> str:
    """Install Debian's chromium (and a CJK font for legible screenshots); '' when done, else why not."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "needs root and apt-get to install it"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium", "fonts-wqy-microhei"]
    for attempt in (install, ["apt-get", "update", "-q"], install):
        done = subprocess.run(attempt, env=env, capture_output=True, text=True, timeout=900, check=False)
        if attempt is install and done.returncode == 0:
            return ""
    return f"apt-get install chromium failed: {(done.stdout + done.stderr)[-300:]}"


@pytest.fixture(scope="session")
def chromium() -> str:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        pytest.skip("Playwright for Python is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        problem = _install_chromium()
        if not CHROMIUM.exists():
            pytest.skip(f"Debian's chromium is not installed at {CHROMIUM} and could not be: {problem}")
    return str(CHROMIUM)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    isolate(monkeypatch, tmp_path, database="browser.db")
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'browser.db'}", http=HttpSettings(port=0))
    supervisor = Staff(platform="telegram", user_id=str(SUPERVISOR), name="赵所长", role="supervisor",
                       created_at=utc_now())
    prepare_database(settings, grid_manager(MANAGER, "李经理"), grid_manager(COLLEAGUE, "周经理"), supervisor)
    code, out = gridbot("staff", "passwd", "赵所长", "--password-stdin", stdin=f"{PASSWORD}\n")
    assert code == 0, out
    return settings


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[tuple[Live, int]]:
    """The running service with two bound groups and one appeal in each."""
    async with live_gridbot(settings) as running:
        control, bot_id = running.control, running.bot_id
        await control.add_user(user_id=COLLEAGUE, first_name="周经理")
        created = await control.create_group("阳光小区客户群", members=[COLLEAGUE, ZHANG], creator=COLLEAGUE)
        other = created["chat"]["id"]
        await control.add_bot_to_group(other, bot_id, by=COLLEAGUE, admin=True)
        for chat, user, area in ((running.group, MANAGER, "幸福村台区 rural"), (other, COLLEAGUE, "阳光小区台区 city")):
            await running.say(chat, user, f"/bind {area}")
            await running.wait_text(chat, "已绑定")
        await running.say(running.group, WANG, "家里停电了，快来人看看，我电话13812345678")
        await running.wait_text(running.group, "工单号 1")
        await running.say(other, ZHANG, "我要投诉，抄表员态度太差了")
        await running.wait_text(other, "工单号 2")
        yield running, other


def _problem(problems: list[str], message: Any) -> None:
    """A console error, but for the 404 the test asks for on purpose."""
    if message.type == "error" and not str(message.location.get("url", "")).endswith("/tickets/2"):
        problems.append(f"{message.text} at {message.location}")


async def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    text = await page.content()
    assert MOBILE.findall(text) == [], name  # no page, of any role, shows a full mobile number


async def _visit_all(page: Any, base: str, who: str, ticket: int) -> None:
    for name, path in (("overview", "/"), ("tickets", "/tickets"), ("ticket", f"/tickets/{ticket}"),
                       ("risk", "/risk"), ("notices", "/notices"), ("customers", "/customers"),
                       ("groups", "/groups"), ("managers", "/managers")):
        answer = await page.goto(f"{base}{path}")
        assert answer is not None and answer.status == 200, (who, path)
        if path == "/":
            await page.wait_for_function("document.documentElement.dataset.charts === 'ready'")
        await _shot(page, f"{who}-{name}")


async def test_manager_and_supervisor_in_the_browser(chromium: str, live: tuple[Live, int]) -> None:
    from playwright.async_api import async_playwright

    running, other = live
    base = running.running.dashboard_url
    assert base is not None
    await running.say(running.private, MANAGER, "/login")
    found = re.search(r"http://\S+/login/link/\S+", await running.wait_text(running.private, "/login/link/"))
    assert found is not None and found.group(0).startswith(base)
    problems: list[str] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        try:
            manager = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
            manager.on("console", lambda m: _problem(problems, m))
            await manager.goto(found.group(0))
            await _shot(manager, "manager-link")
            await manager.get_by_role("button", name="登录工作看板").click()
            await manager.wait_for_url(f"{base}/")
            assert "李经理" in await manager.get_by_test_id("me").inner_text()
            await _visit_all(manager, base, "manager", 1)

            # What the manager may and may not see: their appeal, not the colleague's.
            await manager.goto(f"{base}/tickets")
            assert await manager.locator('a[href="/tickets/1"]').count() > 0
            assert await manager.locator('a[href="/tickets/2"]').count() == 0
            denied = await manager.goto(f"{base}/tickets/2")
            assert denied is not None and denied.status == 404
            assert "抄表员" not in await manager.content()
            await _shot(manager, "manager-forbidden")

            # Resolve from the page; the customer's group hears it at once (the outbox sweep is 30 s away).
            await manager.goto(f"{base}/tickets/1")
            await manager.locator('form[action="/tickets/1/resolve"] textarea').fill("3组线路已修复，已恢复供电")
            await manager.get_by_role("button", name="办结", exact=True).click()
            await manager.wait_for_selector(".flash")
            assert "已办结" in await manager.locator(".flash").inner_text()
            assert await manager.get_by_test_id("status").inner_text() == "已办结"
            await _shot(manager, "manager-resolved")
            await running.wait_text(running.group, "已办结：3组线路已修复，已恢复供电", timeout=5)
            await running.wait_text(running.group, "打个分", timeout=5)

            supervisor = await (await browser.new_context(viewport={"width": 390, "height": 844},
                                                          is_mobile=True)).new_page()
            supervisor.on("console", lambda m: _problem(problems, m))
            await supervisor.goto(f"{base}/tickets")  # not signed in: the sign-in page
            await supervisor.get_by_label("姓名或用户 ID").fill("赵所长")
            await supervisor.get_by_label("密码").fill(PASSWORD)
            await _shot(supervisor, "supervisor-login")
            await supervisor.get_by_role("button", name="登录", exact=True).click()
            await supervisor.wait_for_url(f"{base}/tickets")
            assert await supervisor.locator('a[href="/tickets/1"]').count() > 0
            assert await supervisor.locator('a[href="/tickets/2"]').count() > 0
            await _visit_all(supervisor, base, "supervisor", 2)
            groups = await supervisor.goto(f"{base}/groups")
            assert groups is not None and "阳光小区客户群" in await groups.text()
            await supervisor.goto(f"{base}/?lang=en")
            await supervisor.wait_for_function("document.documentElement.dataset.charts === 'ready'")
            await _shot(supervisor, "supervisor-overview-en")
        finally:
            await browser.close()
    assert problems == []  # no script error, no content-security-policy violation
    assert other != running.group
