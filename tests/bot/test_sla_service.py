"""Escalation inside `gridbot run`: APScheduler sweeps, real sockets to the sandbox, what people receive.

Also the sweep job itself (scheduler/jobs.py) with stand-in sweeps: first tick at start, failures contained,
a quick shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import cast

import pytest

from bot.bootstrap import prepare_database
from bot.workers import DatabaseWorkers
from config.settings import Settings
from handlers.context import Context, utc_now
from handlers.types import ChatRef, Outcome, Queued, Send
from scheduler.jobs import SWEEPS, PeriodicSweeps
from storage.db import make_engine
from storage.models import Staff, TicketAlert
from storage.uow import UnitOfWork
from tests.bot.live import MANAGER, WANG, ZHANG, Live, live_gridbot, prepared_settings

SUPERVISOR, COUNTY_GROUP, NEW_GROUP = 800001, -100777, -100888
# Arrival due the moment the ticket opens, so the test needs no minute of waiting; the rest of the ladder
# runs as configured: L1 at the breach, L2 with no delay.
DEADLINES = """
[repair]
clocks = [{ name = "arrival", default = "0min", met_on = "arrival" }]
"""


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    deadlines = tmp_path / "deadlines.toml"
    deadlines.write_text(DEADLINES, encoding="utf-8")
    monkeypatch.setenv("GRIDBOT_DEADLINES_FILE", str(deadlines))
    monkeypatch.setenv("GRIDBOT_ESCALATION__SWEEP_SECONDS", "1")
    monkeypatch.setenv("GRIDBOT_ESCALATION__L2_DELAY_MINUTES", "0")
    monkeypatch.setenv("GRIDBOT_ESCALATION__COUNTY_CHATS", f'["telegram:{COUNTY_GROUP}"]')
    settings = prepared_settings(tmp_path)
    prepare_database(settings, Staff(platform="telegram", user_id=str(SUPERVISOR), name="张所长",
                                     role="supervisor", created_at=utc_now()))
    return settings


@contextlib.asynccontextmanager
async def escalating(settings: Settings) -> AsyncIterator[Live]:
    """The live service with the supervisor's private chat and the county centre's group in the sandbox."""
    async with live_gridbot(settings) as running:
        await running.control.add_user(user_id=SUPERVISOR, first_name="张所长")
        await running.control.create_private_chat(SUPERVISOR)
        await running.control.create_group("县服务指挥中心", members=[SUPERVISOR], creator=SUPERVISOR,
                                           chat_id=COUNTY_GROUP)
        await running.control.add_bot_to_group(COUNTY_GROUP, running.bot_id, by=SUPERVISOR)
        yield running


def alerts(live: Live, ticket: int = 1) -> list[TicketAlert]:
    engine = make_engine(live.settings.database_url)
    try:
        with UnitOfWork(engine) as uow:
            return list(uow.alerts.for_ticket(ticket))
    finally:
        engine.dispose()


async def test_a_breached_deadline_reaches_the_supervisor_and_the_county_within_seconds(
        settings: Settings) -> None:
    async with escalating(settings) as live:
        await breached_once(live)


async def breached_once(live: Live) -> None:
    await live.say(live.group, WANG, "家里停电了，快来人看看，电话13812345678")
    await live.wait_text(live.group, "工单号 1")
    opened = time.monotonic()  # the arrival deadline is the opening time
    l1 = await live.wait_text(SUPERVISOR, "【超期 L1】工单 1【故障报修】的「到达现场」", timeout=5)
    assert time.monotonic() - opened < 4  # sweeps run every second
    assert "受理人：李经理" in l1 and "群：幸福村客户群" in l1 and "13812345678" in l1
    l2 = await live.wait_text(COUNTY_GROUP, "【超期 L2】工单 1", timeout=5)
    assert "138****5678" in l2 and "13812345678" not in l2  # a group chat: the number is masked
    await asyncio.sleep(2.5)  # more sweeps: still one message each, and no warning for a clock already breached
    assert len([t for t in await live.bot_texts(SUPERVISOR) if t.startswith("【超期")]) == 1  # not the digest
    assert len([t for t in await live.bot_texts(COUNTY_GROUP) if t.startswith("【超期")]) == 1
    assert not [t for t in await live.bot_texts(live.private) if "临期" in t or "超期" in t]
    assert [(a.level, a.recipients) for a in alerts(live)] == [("L1", 1), ("L2", 1)]


async def test_after_a_restart_nothing_is_sent_twice_and_new_breaches_still_are(settings: Settings) -> None:
    async with escalating(settings) as live:
        await breached_once(live)
    async with escalating(settings) as live:  # same database, a new process state and a fresh sandbox
        # The fresh sandbox numbers chats and messages from the start again: a new group keeps this
        # appeal from looking like a redelivery of the first one.
        group = (await live.control.create_group("阳光小区客户群", members=[MANAGER, ZHANG], creator=MANAGER,
                                                 chat_id=NEW_GROUP))["chat"]["id"]
        await live.control.add_bot_to_group(group, live.bot_id, by=MANAGER, admin=True)
        await live.say(group, ZHANG, "我家也停电了，快来人")
        await live.wait_text(SUPERVISOR, "【超期 L1】工单 2", timeout=5)
        await asyncio.sleep(1.5)
        assert not [t for t in await live.bot_texts(SUPERVISOR) if t.startswith("【超期") and "工单 1" in t]
        assert [a.level for a in alerts(live, 1)] == ["L1", "L2"]
        assert [a.level for a in alerts(live, 2)] == ["L1", "L2"]


# --- the job itself, with stand-in sweeps ---------------------------------------------------------------


def queued(n: int) -> Outcome:
    action = Send(ChatRef("telegram", "1"), f"sweep {n}")
    return Outcome(actions=[action], queued=[Queued(n, action)])


async def test_the_job_runs_at_start_and_survives_a_failing_sweep() -> None:
    calls: list[str] = []
    delivered: list[int] = []

    def broken(_: Context) -> Outcome:
        calls.append("broken")
        raise RuntimeError("boom")

    def working(_: Context) -> Outcome:
        calls.append("working")
        return queued(len(calls))

    def deliver(items: Sequence[Queued]) -> None:
        delivered.extend(item.outbox_id for item in items)

    workers = DatabaseWorkers(1)
    job = PeriodicSweeps(cast(Context, None), run_in_db=workers.run, deliver=deliver, interval_seconds=0.1,
                         sweeps=(broken, working))
    started = time.monotonic()
    job.start()
    try:
        while job.runs < 3 and time.monotonic() - started < 5:
            await asyncio.sleep(0.01)
    finally:
        await job.shutdown()
        workers.shutdown()
    assert job.runs >= 3
    assert calls[:4] == ["broken", "working", "broken", "working"]
    assert delivered[:2] == [2, 4]
    runs = job.runs
    await asyncio.sleep(0.3)
    assert job.runs == runs  # stopped


async def test_shutdown_does_not_wait_long_for_a_stuck_sweep() -> None:
    release, entered = threading.Event(), threading.Event()

    def stuck(_: Context) -> Outcome:
        entered.set()
        release.wait(10)
        return Outcome()

    workers = DatabaseWorkers(1)
    job = PeriodicSweeps(cast(Context, None), run_in_db=workers.run, deliver=lambda _: None,
                         interval_seconds=60, sweeps=(stuck,))
    job.start()
    try:
        while not entered.is_set():
            await asyncio.sleep(0.01)
        started = time.monotonic()
        await job.shutdown(grace=0.2)
        assert time.monotonic() - started < 1
    finally:
        release.set()
        workers.shutdown()


def test_the_sla_sweep_is_scheduled() -> None:
    from handlers.sla_watch import sweep

    assert sweep in SWEEPS


async def test_the_supervisor_gets_the_digest_and_its_chart_as_a_photo(settings: Settings) -> None:
    settings.notices.digest_at = "00:00"  # due at once, whatever the hour the test runs at
    async with escalating(settings) as live:
        await live.say(live.group, WANG, "电费怎么交")  # one open inquiry: the digest has something to say
        await live.wait_text(live.group, "工单号 1")
        digest = await live.wait_text(SUPERVISOR, "【每日简报】", timeout=8)
        assert "待办 1" in digest
        photos: list[dict[str, object]] = []
        for _ in range(80):
            photos = await live.control.photos(SUPERVISOR)
            if photos:
                break
            await asyncio.sleep(0.1)
        daily = photos[0]
        assert str(daily["caption"]).startswith("【每日简报】") and "近 14 天" in str(daily["caption"])
        png = await live.control.file_content(str(daily["file_id"]))
        assert png.startswith(b"\x89PNG") and len(png) == daily["file_size"] > 10_000
        await asyncio.sleep(2.5)  # more sweeps: still one chart per period (Mondays: daily and weekly)
        captions = [str(photo["caption"]) for photo in await live.control.photos(SUPERVISOR)]
        assert len(set(captions)) == len(captions) <= 2
