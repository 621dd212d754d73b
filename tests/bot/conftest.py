"""Fixtures of the tests that run real `gridbot` processes: the child processes and a sandbox of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import telegram

from bot.sandbox import SandboxClient, SandboxServer
from tests.bot.processes import Children, child_env, eventually, free_port
from tests.bot.sandbox_scene import BOT_ID, TOKEN, Scene, drain


@pytest.fixture
def children() -> Iterator[Children]:
    started = Children()
    try:
        yield started
    finally:
        started.stop_all()


async def _healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=1.0) as http:
            return (await http.get(f"{url}/control/health")).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
async def sandbox_url(tmp_path: Path, children: Children) -> AsyncIterator[str]:
    """`gridbot sandbox` in its own process on a free port (another one if that port got taken)."""
    failures: list[str] = []
    for attempt in range(3):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        child = children.start(f"sandbox-{attempt}", ["sandbox", "--port", str(port)], child_env({}), tmp_path)

        async def up(url: str = url) -> tuple[bool, str]:
            return await _healthy(url), "no answer on /control/health"

        try:
            await eventually(up, timeout=20, what=f"sandbox on port {port} answers", watch=[child])
        except AssertionError as exc:
            failures.append(str(exc))
            child.stop()
            continue
        yield url
        return
    pytest.fail("the sandbox did not start:\n" + "\n".join(failures))


# The in-process sandbox with a PTB bot and a group (tests/bot/test_sandbox*.py).
@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    async with SandboxServer(webhook_backoff=0.01) as server:
        yield server


@pytest.fixture
async def control(sandbox: SandboxServer) -> AsyncIterator[SandboxClient]:
    async with SandboxClient(sandbox.base_url) as client:
        yield client


@pytest.fixture
async def bot(sandbox: SandboxServer) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(TOKEN, base_url=sandbox.bot_api_url, base_file_url=sandbox.file_url) as tg_bot:
        yield tg_bot


@pytest.fixture
async def scene(control: SandboxClient, bot: telegram.Bot) -> Scene:
    alice = (await control.add_user("Alice", username="alice_grid"))["id"]
    bob = (await control.add_user("Bob"))["id"]
    group = (await control.create_group("Station 7", creator=alice, members=[bob]))["chat"]["id"]
    await control.add_bot_to_group(group, BOT_ID, by=alice, admin=True)
    await drain(bot)
    return Scene(alice, bob, group)
