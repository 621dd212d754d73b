"""Webhook mode: the sandbox POSTs updates to our listener; only requests with the secret are taken."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.telegram_webhook import SECRET_HEADER, WEBHOOK_PATH
from config.settings import HttpSettings
from tests.bot.live import WANG, Live, live_gridbot, prepared_settings

SECRET = "s3cret-token-for-tests_0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[Live]:
    port = free_port()
    settings = prepared_settings(tmp_path, mode="webhook", webhook_url=f"http://127.0.0.1:{port}{WEBHOOK_PATH}",
                                 webhook_secret=SECRET)
    settings.http = HttpSettings(port=port)
    async with live_gridbot(settings) as running:
        yield running


def group_update(live: Live, update_id: int, message_id: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id, "message": {
        "message_id": message_id, "date": int(time.time()), "text": text,
        "chat": {"id": live.group, "type": "group", "title": "幸福村客户群"},
        "from": {"id": WANG, "is_bot": False, "first_name": "王大爷"}}}


async def post(live: Live, body: object, secret: str | None = SECRET) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with httpx.AsyncClient() as client:
        return await client.post(f"http://127.0.0.1:{live.running.http_port}{WEBHOOK_PATH}",
                                 json=body, headers=headers)


async def test_updates_arrive_by_webhook_and_are_answered(live: Live) -> None:
    info = await live.control.get_bot(live.bot_id)
    assert info["webhook_url"].endswith(WEBHOOK_PATH)
    await live.say(live.group, WANG, "家里停电了，快来人看看")
    await live.wait_text(live.group, "工单号 1")


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-0000000000"])
async def test_requests_without_the_secret_are_refused_and_store_nothing(live: Live, secret: str | None) -> None:
    response = await post(live, group_update(live, 900, 77, "停电了快来人"), secret=secret)
    assert response.status_code == 403
    assert live.tickets() == []


async def test_malformed_body_is_a_400(live: Live) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"http://127.0.0.1:{live.running.http_port}{WEBHOOK_PATH}",
                                     content=b"{not json", headers={SECRET_HEADER: SECRET})
    assert response.status_code == 400


async def test_a_redelivered_update_opens_one_ticket_and_replies_once(live: Live) -> None:
    update = group_update(live, 901, 4242, "停电了快来人")
    assert (await post(live, update)).status_code == 200
    assert (await post(live, update)).status_code == 200
    assert len(live.tickets()) == 1
    replies = [m for m in await live.control.bot_messages(live.group) if "工单号" in m.get("text", "")]
    assert len(replies) == 1
