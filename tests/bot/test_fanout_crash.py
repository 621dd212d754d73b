"""An outage notice fanned out to 500 groups, the dispatcher SIGKILLed in the middle and restarted: every group
gets the notice, and exactly once but for the documented in-flight case.

Black box: `gridbot sandbox` (the fake Bot API) and `gridbot run` are separate processes sharing nothing but
HTTP and the SQLite file. 500 groups with the bot as administrator are bound to one area in the database (as
bench/fanout.py does, no /bind chatter) before the bot starts, so the promotions it then reads greet no one.
A manager publishes a planned notice with `/notice` in private while the service runs: the publication phase
writes one outbox row per group (unique key `notice:<phase>:<group>`) and the running delivery sends them at
Telegram's 30 messages a second. (`gridbot notices create` writes the same rows, but a running service takes
them up only at its outbox sweep, 30-60 s later, with no setting to shorten that: too slow for this test.)

When a good part of the groups have the notice, the service is SIGKILLed; the outbox (which rows are marked
sent) and the sandbox (which groups have the message) are read at the kill; a second `gridbot run` on the same
database sends what is left. The sandbox's record is the judge: every group has the notice; a group has it
twice only if its row was in flight at the kill (accepted by the sandbox, not yet marked sent: README,
"Delivery guarantees"), and there are no more of those than one second of the rate limit lets out; every row
ends sent, none failed.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.sandbox import SandboxClient
from storage.db import make_engine
from storage.models import ChatGroup
from storage.uow import UnitOfWork
from tests.bot.processes import Child, Children, child_env, eventually, run_gridbot

GROUPS = 500
KILL_AT = 150  # groups that have the notice when the SIGKILL is sent (the whole fan-out is ~17 s at 30/s)
OVERALL_PER_SECOND = 30  # Telegram's overall limit (the default), pinned
BOT_ID = 7300000001
TOKEN = f"{BOT_ID}:fanout-crash-not-a-secret"
MANAGER = 900001
STATION = "示范供电所"  # GRIDBOT_STATION_NAME, set for the bot below
AREA = "幸福台区"
HEADER = "【停电通知】"  # the first line of the publication phase (config/templates/zh_CN.toml)
SH = ZoneInfo("Asia/Shanghai")


# --- database (read-only while a bot runs) ---------------------------------------------------------------
def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True, timeout=10)) as conn:
        return conn.execute(sql, params).fetchall()


@dataclass(frozen=True)
class Row:
    id: int
    chat: int
    sent: bool
    failed: bool
    error: str | None


def notice_rows(db: Path) -> list[Row]:
    """The outbox rows of the notice's publication phase, one per group."""
    rows = query(db, "SELECT o.id, o.chat_id, o.sent_at, o.failed_at, o.error FROM outbox_message o "
                     "JOIN notice_phase p ON p.id = o.notice_phase_id WHERE p.phase = 'published'")
    return [Row(int(i), int(c), s is not None, f is not None, e) for i, c, s, f, e in rows]


def bind_groups(db: Path, chats: list[int]) -> None:
    """Every group known to the bot, active and bound to AREA, as bench/fanout.py binds them."""
    engine = make_engine(f"sqlite:///{db}")
    now = datetime.now().astimezone()
    try:
        with UnitOfWork(engine) as uow:
            station = uow.stations.get_or_create(STATION)
            area = uow.stations.area(station.id or 0, AREA, "rural")
            for n, chat in enumerate(chats):
                group: ChatGroup = uow.groups.ensure("telegram", str(chat), f"第{n + 1}村客户群", now)
                group.area_id, group.active = area.id, True
                uow.groups.save(group)
            uow.commit()
    finally:
        engine.dispose()


# --- sandbox: the `children` and `sandbox_url` fixtures are in tests/bot/conftest.py ------------------------





async def copies(control: SandboxClient, chats: list[int]) -> Counter[int]:
    """How many times each group has the notice, read from the sandbox's chats (20 requests at a time)."""
    gate = asyncio.Semaphore(20)

    async def count(chat: int) -> int:
        async with gate:
            return sum(HEADER in (m.get("text") or "") for m in await control.bot_messages(chat))

    found = await asyncio.gather(*(count(chat) for chat in chats))
    return Counter({chat: n for chat, n in zip(chats, found, strict=True) if n})


class SendLog:
    """The groups the sandbox accepted a sendMessage for, read incrementally from its call log."""

    def __init__(self, control: SandboxClient, chats: list[int]) -> None:
        self.control, self.chats, self.seq = control, set(chats), 0
        self.reached: set[int] = set()

    async def refresh(self) -> int:
        for call in await self.control.calls(bot_id=BOT_ID, method="sendMessage", since=self.seq):
            self.seq = max(self.seq, int(call["seq"]))
            chat = int(call["params"].get("chat_id", 0))
            if call["ok"] and chat in self.chats:
                self.reached.add(chat)
        return len(self.reached)


async def start_bot(children: Children, name: str, env: dict[str, str], cwd: Path) -> Child:
    bot = children.start(name, ["run"], env, cwd)

    async def running() -> tuple[bool, str]:
        return "gridbot is running" in bot.output(), "no 'gridbot is running' line yet"

    await eventually(running, timeout=30, what=f"{name} starts", watch=[bot], interval=0.05)
    return bot


# --- the test --------------------------------------------------------------------------------------------
async def test_sigkill_mid_fanout_to_500_groups_then_restart_reaches_each_group_once(
        tmp_path: Path, children: Children, sandbox_url: str) -> None:
    began = time.monotonic()
    db = tmp_path / "fanout.db"
    env = child_env({
        "GRIDBOT_DATABASE_URL": f"sqlite:///{db}",
        "GRIDBOT_TELEGRAM__TOKEN": TOKEN,
        "GRIDBOT_TELEGRAM__BASE_URL": f"{sandbox_url}/bot",
        "GRIDBOT_HTTP__PORT": "0",
        "GRIDBOT_STATION_NAME": STATION,
        "GRIDBOT_TELEGRAM__OVERALL_PER_SECOND": str(OVERALL_PER_SECOND),
        "GRIDBOT_TELEGRAM__GROUP_PER_MINUTE": "20",
    })
    run_gridbot(["db", "upgrade"], env, tmp_path)
    # An admin (not a grid manager or supervisor, who would get digests and alerts in private).
    run_gridbot(["staff", "add", "--platform", "telegram", "--user-id", str(MANAGER), "--role", "admin",
                 "--name", "李经理"], env, tmp_path)

    async with SandboxClient(sandbox_url) as control:
        await control.add_bot(token=TOKEN, username="gridbot_fanout_bot", first_name="供电所数字助手")
        await control.add_user(user_id=MANAGER, first_name="李经理")
        gate = asyncio.Semaphore(20)

        async def group(n: int) -> int:
            async with gate:
                view = await control.create_group(f"第{n + 1}村客户群", creator=MANAGER, members=[MANAGER, BOT_ID])
                chat = int(view["chat"]["id"])
                await control.promote(chat, BOT_ID, by=MANAGER)  # a my_chat_member update for the bot
                return chat

        chats = list(await asyncio.gather(*(group(n) for n in range(GROUPS))))
        assert len(set(chats)) == GROUPS
        private = int((await control.create_private_chat(MANAGER))["chat"]["id"])
        bind_groups(db, chats)
        built = time.monotonic()

        first = await start_bot(children, "bot-1", env, tmp_path)

        async def promotions_read() -> tuple[bool, str]:
            pending = (await control.stats())["pending_updates"].get(str(BOT_ID), -1)
            return pending == 0, f"{pending} updates pending"

        await eventually(promotions_read, timeout=30, what="bot-1 reads the promotions", watch=[first],
                         interval=0.1)
        log = SendLog(control, chats)
        assert await log.refresh() == 0, "the bot wrote to the groups before the notice (a greeting?)"

        # --- publication while the service runs, and the kill in the middle of the fan-out
        day = datetime.now(SH).date() + timedelta(days=10)
        await control.post_message(private, MANAGER, text=(
            f"/notice planned {AREA} {day.month}月{day.day}日8:00-18:00 10kV幸福线检修 电话:95598"))
        published = time.monotonic()

        async def some_reached() -> tuple[bool, str]:
            reached = await log.refresh()
            return reached >= KILL_AT, f"{reached} groups reached"

        await eventually(some_reached, timeout=30, what=f"{KILL_AT} groups reached before the kill",
                         watch=[first], interval=0.05)
        status = first.crash()
        killed = time.monotonic()
        assert status == -9, f"bot-1 should have died of SIGKILL, exit status {status}"
        await asyncio.sleep(0.5)  # a request already on the wire at the kill still lands in the sandbox

        at_kill_rows = notice_rows(db)
        at_kill = await copies(control, chats)
        assert len(at_kill_rows) == GROUPS, f"{len(at_kill_rows)} outbox rows for {GROUPS} groups"
        sent_at_kill = {row.chat for row in at_kill_rows if row.sent}
        unsent_at_kill = {row.chat for row in at_kill_rows if not row.sent and not row.failed}
        assert GROUPS > len(at_kill) >= KILL_AT, f"not mid-fan-out: {len(at_kill)}/{GROUPS} groups at the kill"
        assert not [c for c, n in at_kill.items() if n > 1], "a group had the notice twice before the kill"
        assert sent_at_kill <= set(at_kill), \
            f"rows marked sent whose group has no notice: {sorted(sent_at_kill - set(at_kill))[:5]}"
        in_flight = set(at_kill) & unsent_at_kill  # accepted by the sandbox, not yet marked: sent again
        assert len(in_flight) <= OVERALL_PER_SECOND, \
            f"{len(in_flight)} rows in flight at the kill: more than one second of sends is unmarked"

        # --- the restart
        second = await start_bot(children, "bot-2", env, tmp_path)

        async def all_reached() -> tuple[bool, str]:
            rows = notice_rows(db)
            done = sum(row.sent or row.failed for row in rows)
            reached = await log.refresh()
            return done == GROUPS and reached == GROUPS, f"{done} rows done, {reached} groups reached"

        await eventually(all_reached, timeout=40, what="bot-2 finishes the fan-out", watch=[second], interval=0.1)
        completed = time.monotonic()
        await asyncio.sleep(0.5)  # nothing more should come; give a stray resend the time to show
        final = await copies(control, chats)
        notices = query(db, "SELECT count(*) FROM notice")[0][0]
        answers = [m for m in await control.bot_messages(private) if "已发布" in (m.get("text") or "")]

    # --- every group once; twice only for a row in flight at the kill
    missing = [chat for chat in chats if final[chat] == 0]
    assert not missing, f"{len(missing)} groups never got the notice: {missing[:5]}"
    twice = {chat for chat in chats if final[chat] > 1}
    too_many = {chat: final[chat] for chat in chats if final[chat] > 2}
    assert not too_many, f"groups that got the notice more than twice: {too_many}"
    unexplained = twice - in_flight
    assert not unexplained, (f"{len(unexplained)} groups got the notice twice though their row was not in flight "
                             f"at the kill: {sorted(unexplained)[:5]}")
    assert twice == in_flight, (f"rows in flight at the kill not sent again after the restart: "
                                f"{sorted(in_flight - twice)[:5]}")
    assert len(twice) <= OVERALL_PER_SECOND

    # --- the outbox: every row sent, none failed, each group one row; one notice, one answer
    rows = notice_rows(db)
    failed = [(row.chat, row.error) for row in rows if row.failed]
    assert not failed, f"{len(failed)} rows failed: {failed[:3]}"
    assert all(row.sent for row in rows) and len(rows) == GROUPS
    assert sorted(row.chat for row in rows) == sorted(chats), "not one row per group"
    unsent = query(db, "SELECT id, chat_id, text FROM outbox_message WHERE sent_at IS NULL")
    assert not unsent, f"outbox rows never sent: {unsent[:3]}"
    assert notices == 1, f"{notices} notices stored: the /notice command was run again after the restart"
    assert len(answers) == 1, f"the publisher was answered {len(answers)} times"
    resent_log = second.output()
    assert "resuming" in resent_log, "bot-2 did not resume the outbox at start-up"

    print(f"\nfan-out crash test: {GROUPS} groups; {len(at_kill)} had the notice at the SIGKILL "
          f"({killed - published:.1f}s after publication; {len(sent_at_kill)} rows marked sent, "
          f"{len(in_flight)} in flight), {len(unsent_at_kill)} rows pending; after the restart all {GROUPS} reached "
          f"in {completed - killed:.1f}s from the kill; {len(twice)} groups got it twice (all in flight at the "
          f"kill), {sum(final.values())} messages in all; set-up {built - began:.1f}s, "
          f"{time.monotonic() - began:.1f}s in all")
