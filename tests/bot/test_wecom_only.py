"""`gridbot run` with only WeCom configured serves WeCom alone; digests can go to an internal group robot;
archived records can be fed from a file with `gridbot wecom ingest`."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from bot.sandbox.wecom_api import WecomSandbox
from bot.sandbox.wecom_client import WecomSandboxClient
from bot.wecom_sandbox_link import point_callbacks, start_wecom_sandbox
from storage.models import OutboxMessage
from tests.bot.live import running_service
from tests.bot.wecom_live import OWNER, OWNER_NAME, WecomLive, live_wecom, wecom_settings
from tests.cli_helpers import gridbot, isolate


async def test_with_only_wecom_configured_the_service_runs_wecom_alone(tmp_path: Path) -> None:
    fake = WecomSandbox()
    settings = wecom_settings(tmp_path)
    settings = settings.model_copy(update={"wecom": await start_wecom_sandbox(fake, settings.wecom)})
    assert settings.telegram.token is None
    try:
        async with running_service(settings, sandbox=False) as running:
            assert running.telegram is None and running.wecom is not None
            await point_callbacks(fake, f"http://127.0.0.1:{running.http_port}{settings.wecom.callback_path}")
            async with WecomSandboxClient(fake.base_url) as control:
                await control.add_staff(OWNER, OWNER_NAME)
                await control.staff_message(OWNER, "/tickets")
                for _ in range(100):
                    if await control.app_messages(OWNER):
                        break
                    await asyncio.sleep(0.05)
                [reply] = await control.app_messages(OWNER)
            assert "工单" in reply["content"]
    finally:
        await fake.stop()


async def test_a_digest_goes_to_the_supervisors_robot_once(tmp_path: Path) -> None:
    settings = wecom_settings(tmp_path)
    async with live_wecom(settings) as live:
        robot = await live.control.add_robot("供电所管理群")
        url = f"{live.running.wecom_sandbox.base_url}/cgi-bin/webhook/send?key={robot['key']}"  # type: ignore[union-attr]
        live.channel.delivery.settings = live.channel.settings.model_copy(
            update={"robot_webhook_url": SecretStr(url)})
        await queue_digest(live, ["sup1", "sup2"])
        await live.channel.delivery.dispatch()
        await live.settled()
        [posted] = await live.control.robot_messages(robot["key"])
        assert "今日简报" in posted["content"]
        assert await live.control.app_messages("sup1") == []  # not once per supervisor as well


async def queue_digest(live: WecomLive, supervisors: list[str]) -> None:
    def write() -> None:
        from storage.db import make_engine
        from storage.uow import UnitOfWork
        engine = make_engine(live.settings.database_url)
        with UnitOfWork(engine) as uow:
            for person in supervisors:
                uow.outbox.add(OutboxMessage(platform="wecom", chat_id=person, text="今日简报：新工单 3 件",
                                             created_at=datetime.now(UTC),
                                             dedupe_key=f"digest:daily:2026-11-25:{person}"))
            uow.commit()
        engine.dispose()

    await asyncio.to_thread(write)


def test_archived_records_are_queued_from_a_file_once(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = wecom_settings(tmp_path)
    isolate(monkeypatch, tmp_path)
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", settings.database_url)
    records = tmp_path / "archive.jsonl"
    records.write_text("\n".join(json.dumps({"msgid": f"m{n}", "roomid": "wrX", "from": "wmA", "msgtype": "text",
                                             "text": {"content": "停电了"}}) for n in range(3)), encoding="utf-8")
    assert gridbot("wecom", "ingest", str(records)) == (0, "3 records, 3 new, 0 already queued\n")
    assert gridbot("wecom", "ingest", str(records))[1] == "3 records, 0 new, 3 already queued\n"
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"msgid": "a"}\n{"roomid": "x"}\n', encoding="utf-8")
    code, out = gridbot("wecom", "ingest", str(broken))
    assert code == 1 and "record 2: expected an object with a msgid" in out
    code, out = gridbot("wecom", "status")
    assert code == 0 and "callbacks waiting: 3" in out


async def test_readiness_reports_whether_a_wecom_token_is_held(tmp_path: Path) -> None:
    import httpx

    async with live_wecom(wecom_settings(tmp_path)) as live:
        async with httpx.AsyncClient() as http:
            ready = (await http.get(f"http://127.0.0.1:{live.running.http_port}/readyz")).json()
        assert ready["checks"]["wecom"] == {"ok": True, "detail": "access token held", "required": True}
        await live.control.configure_corp(secret="rotated-in-the-console")
        await live.control.expire_tokens()
        live.channel.calls.client.expires_at = 1  # our cached token is due: the next check fetches one
        await live.channel._check_api()
        ok, detail = live.channel.connection()
        assert not ok and "40001" in detail
