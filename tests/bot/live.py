"""A running gridbot (sandbox + real PTB + core + SQLite) inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.bootstrap import grid_manager, prepare_database
from bot.sandbox import SandboxClient
from bot.service import Running, serve
from config.settings import HttpSettings, Settings, TelegramSettings, load_settings
from storage.db import make_engine
from storage.models import Ticket
from storage.uow import UnitOfWork

MANAGER, WANG, ZHANG = 900001, 100001, 100002


@dataclass
class Live:
    running: Running
    control: SandboxClient
    settings: Settings
    group: int
    private: int

    @property
    def bot_id(self) -> int:
        return self.running.channel.application.bot.id

    async def say(self, chat: int, user: int, text: str) -> dict[str, Any]:
        return await self.control.post_message(chat, user, text=text)  # type: ignore[no-any-return]

    async def bot_texts(self, chat: int) -> list[str]:
        return [m.get("text", "") for m in await self.control.bot_messages(chat)]

    async def wait_text(self, chat: int, needle: str, timeout: float = 5.0) -> str:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for text in await self.bot_texts(chat):
                if needle in text:
                    return text
            await asyncio.sleep(0.02)
        raise AssertionError(f"no bot message with {needle!r} in {chat}: {await self.bot_texts(chat)}")

    async def settle(self, seconds: float = 0.4) -> None:
        """Give the bot time to act (used only to assert that nothing happens)."""
        await asyncio.sleep(seconds)

    def tickets(self) -> list[Ticket]:
        engine = make_engine(self.settings.database_url)
        try:
            with UnitOfWork(engine) as uow:
                return list(uow.tickets.list(limit=100_000))
        finally:
            engine.dispose()


def prepared_settings(tmp_path: Path, **telegram: Any) -> Settings:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'e2e.db'}", http=HttpSettings(port=0),
                             telegram=TelegramSettings(**telegram))
    prepare_database(settings, grid_manager(MANAGER, "李经理"))
    return settings


@contextlib.asynccontextmanager
async def running_service(settings: Settings, sandbox: bool = True) -> AsyncIterator[Running]:
    """`gridbot run` in this event loop until the block ends (then stopped gracefully)."""
    ready: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()

    async def on_ready(running: Running) -> None:
        ready.set_result(running)

    task = asyncio.create_task(serve(settings, sandbox=sandbox, on_ready=on_ready, stop=stop))
    done, _ = await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED, timeout=20)
    if task in done:
        task.result()  # start-up failed: raise its error here
    try:
        yield ready.result()
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=20)


@contextlib.asynccontextmanager
async def live_gridbot(settings: Settings) -> AsyncIterator[Live]:
    async with running_service(settings) as running:
        assert running.sandbox_url is not None
        control = SandboxClient(running.sandbox_url)
        for user, name in ((MANAGER, "李经理"), (WANG, "王大爷"), (ZHANG, "张阿姨")):
            await control.add_user(user_id=user, first_name=name)
        group = (await control.create_group("幸福村客户群", members=[MANAGER, WANG], creator=MANAGER))["chat"]["id"]
        await control.add_bot_to_group(group, running.channel.application.bot.id, by=MANAGER, admin=True)
        private = (await control.create_private_chat(MANAGER))["chat"]["id"]
        try:
            yield Live(running, control, settings, group, private)
        finally:
            await control.aclose()
