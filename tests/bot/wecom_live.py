"""A running gridbot with its WeCom channel against the fake WeCom, inside the test's event loop.

The fake pushes encrypted callbacks to our real endpoint over HTTP, and our real wechatpy client calls the
fake's API; the people below exist in both: 张经理 (zhangsan) is a grid manager who owns the customer group.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import SecretStr

from bot.bootstrap import prepare_database
from bot.sandbox.wecom_client import WecomCallbacks, WecomSandboxClient
from bot.service import Running
from bot.wecom_channel import WecomChannel
from bot.wecom_sandbox_link import SANDBOX_AES_KEY, SANDBOX_AGENT_ID, SANDBOX_CORP_ID, SANDBOX_TOKEN
from config.settings import HttpSettings, Settings, WecomSettings, load_settings
from storage.db import make_engine
from storage.models import Staff
from storage.uow import UnitOfWork
from tests.bot.live import running_service

T = TypeVar("T")
OWNER, OWNER_NAME = "zhangsan", "张经理"
ARCHIVE_TOKEN = "archive-token-for-tests-only"


@dataclass
class WecomLive:
    running: Running
    control: WecomSandboxClient
    settings: Settings
    callback_url: str

    @property
    def channel(self) -> WecomChannel:
        assert self.running.wecom is not None
        return self.running.wecom

    def db(self, read: Callable[[UnitOfWork], T]) -> T:
        engine = make_engine(self.settings.database_url)
        try:
            with UnitOfWork(engine) as uow:
                return read(uow)
        finally:
            engine.dispose()

    async def until(self, check: Callable[[], Awaitable[T]], what: str, timeout: float = 8.0) -> T:
        """Poll `check` until it returns something truthy."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await check()
            if found:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def app_texts(self, userid: str) -> list[str]:
        return [m["content"] for m in await self.control.app_messages(userid)]

    async def wait_app_text(self, userid: str, needle: str) -> str:
        async def found() -> str:
            return next((t for t in await self.app_texts(userid) if needle in t), "")
        return await self.until(found, f"an app message to {userid} with {needle!r}")

    async def settled(self) -> None:
        """Every callback handled and every queued send carried out."""
        await self.channel.adapter.idle()
        await self.channel.delivery.drain()

    def pusher(self) -> WecomCallbacks:
        return WecomCallbacks(SANDBOX_TOKEN, SANDBOX_AES_KEY, SANDBOX_CORP_ID, SANDBOX_AGENT_ID, self.callback_url)


def wecom_settings(tmp_path: Path, **wecom: Any) -> Settings:
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'wecom.db'}", http=HttpSettings(port=0),
                             wecom=WecomSettings(archive_token=SecretStr(ARCHIVE_TOKEN), **wecom))
    prepare_database(settings, Staff(platform="wecom", user_id=OWNER, name=OWNER_NAME, role="grid_manager",
                                     created_at=datetime.now(UTC)))
    return settings


@contextlib.asynccontextmanager
async def live_wecom(settings: Settings) -> AsyncIterator[WecomLive]:
    async with running_service(settings) as running:
        assert running.wecom_sandbox is not None and running.wecom is not None
        control = WecomSandboxClient(running.wecom_sandbox.base_url)
        await control.add_staff(OWNER, OWNER_NAME)
        url = f"http://127.0.0.1:{running.http_port}{settings.wecom.callback_path}"
        try:
            yield WecomLive(running, control, settings, url)
        finally:
            await control.aclose()
