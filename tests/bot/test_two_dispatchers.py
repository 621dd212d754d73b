"""Two `gridbot run` processes on one PostgreSQL schema: no outbox row is sent twice, and the scheduler's
leadership moves to the survivor when the leader is SIGKILLed.

Black box: two real processes (webhook mode, as receivers behind a load balancer would run), one sandbox Bot
API server in the test's loop, and an outbox pre-filled with 300 rows for 30 groups. Both processes claim
rows at start-up (a batch of 200 at a time, the next batch once half of the last is sent); each paced to
15 messages a second, the first to start is still busy with its batch when the second asks, so both send.
The sandbox's record of what arrived is the judge: every row exactly once.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.sandbox import SandboxClient, SandboxServer
from bot.telegram_webhook import WEBHOOK_PATH
from handlers.context import utc_now
from storage.models import OutboxMessage
from storage.uow import UnitOfWork
from tests.bot.processes import Child, Children, child_env, eventually, free_port, run_gridbot
from tests.conftest import POSTGRES_URL, _postgres_engine

BOT_ID = 7200000001
TOKEN = f"{BOT_ID}:two-dispatchers-not-a-secret"
SECRET = "two-dispatchers-secret-0000"
MANAGER = 900001
GROUPS, ROWS = 30, 300
ACQUIRED = "scheduler leader: acquired"


@pytest.fixture
def schema() -> Iterator[tuple[Engine, str]]:
    """A fresh, empty PostgreSQL schema (skipped or failed like every PostgreSQL test when none answers)."""
    engine, name = _postgres_engine()
    yield engine, name
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    engine.dispose()


@pytest.fixture
async def sandbox() -> AsyncIterator[str]:
    server = SandboxServer()
    url = await server.start()
    try:
        yield url
    finally:
        await server.stop()


def fill_outbox(engine: Engine, chats: list[int]) -> list[str]:
    """ROWS pending rows, round-robin over the groups, written a minute ago (as if left by a crash)."""
    written = utc_now() - timedelta(minutes=1)
    texts = [f"第{n:03d}条通知（两进程测试）" for n in range(ROWS)]
    with UnitOfWork(engine) as uow:
        for n, body in enumerate(texts):
            uow.outbox.add(OutboxMessage(platform="telegram", chat_id=str(chats[n % len(chats)]), text=body,
                                         created_at=written))
        uow.commit()
    return texts


def outbox_state(engine: Engine) -> tuple[int, int, Counter[str]]:
    """(sent, failed, sent rows per claiming process id)."""
    with UnitOfWork(engine) as uow:
        rows = uow.session.exec(select(OutboxMessage)).all()
    sent = [row for row in rows if row.sent_at is not None]
    owners = Counter(row.claimed_by.split(":")[1] if row.claimed_by else "unclaimed" for row in sent)
    return len(sent), sum(row.failed_at is not None for row in rows), owners


async def start_both(children: Children, env: dict[str, str], cwd: Path) -> list[Child]:
    bots = []
    for name in ("gridbot-a", "gridbot-b"):
        port = free_port()
        bots.append(children.start(name, ["run"], {
            **env, "GRIDBOT_HTTP__PORT": str(port),
            "GRIDBOT_TELEGRAM__WEBHOOK_URL": f"http://127.0.0.1:{port}{WEBHOOK_PATH}"}, cwd))

    async def both_running() -> tuple[bool, str]:
        up = [bot.name for bot in bots if "gridbot is running" in bot.output()]
        return len(up) == 2, f"running: {up}"

    await eventually(both_running, timeout=40, what="both processes start", watch=bots, interval=0.1)
    return bots


async def test_two_dispatchers_send_each_row_once_and_the_leader_lock_moves(
        tmp_path: Path, schema: tuple[Engine, str], sandbox: str, children: Children) -> None:
    began = time.monotonic()
    engine, name = schema
    env = child_env({
        "GRIDBOT_DATABASE_URL": POSTGRES_URL,
        # libpq's own variable: the schema without a percent-encoded URL, which `db upgrade` cannot take
        # (storage/migrate.py hands the URL to configparser, where % is interpolation).
        "PGOPTIONS": f"-csearch_path={name}",
        "GRIDBOT_TELEGRAM__TOKEN": TOKEN,
        "GRIDBOT_TELEGRAM__BASE_URL": f"{sandbox}/bot",
        "GRIDBOT_TELEGRAM__MODE": "webhook",
        "GRIDBOT_TELEGRAM__WEBHOOK_SECRET": SECRET,
        "GRIDBOT_TELEGRAM__OVERALL_PER_SECOND": "15",
    })
    run_gridbot(["db", "upgrade"], env, tmp_path)

    async with SandboxClient(sandbox) as control:
        await control.add_bot(token=TOKEN, username="gridbot_pair_bot", first_name="供电所数字助手")
        await control.add_user(user_id=MANAGER, first_name="李经理")
        chats = [(await control.create_group(f"第{g + 1}村客户群", creator=MANAGER, members=[MANAGER, BOT_ID])
                  )["chat"]["id"] for g in range(GROUPS)]
        texts = fill_outbox(engine, chats)

        bots = await start_both(children, env, tmp_path)

        async def all_sent() -> tuple[bool, str]:
            sent, failed, owners = outbox_state(engine)
            return sent + failed == ROWS, f"{sent} sent, {failed} failed, by process: {dict(owners)}"

        await eventually(all_sent, timeout=40, what="every row is sent", watch=bots, interval=0.2)
        sent, failed, owners = outbox_state(engine)
        arrived = Counter[str]()
        for chat in chats:
            arrived.update(message["text"] for message in await control.bot_messages(chat))

    twice = {body: n for body, n in arrived.items() if n > 1}
    assert not twice, f"{len(twice)} messages arrived more than once: {list(twice.items())[:5]}"
    missing = [body for body in texts if arrived[body] != 1]
    assert not missing, f"{len(missing)} rows never arrived: {missing[:5]}"
    assert (sent, failed) == (ROWS, 0)
    pids = {str(bot.process.pid) for bot in bots}
    assert set(owners) == pids, f"both processes should have dispatched: {dict(owners)} (pids {pids})"
    dispatched = time.monotonic() - began

    # --- exactly one leader; SIGKILL it and the other takes over
    leaders = [bot for bot in bots if ACQUIRED in bot.output()]
    assert len(leaders) == 1, f"{len(leaders)} leaders:\n{children.describe()}"
    [leader] = leaders
    [follower] = [bot for bot in bots if bot is not leader]
    assert leader.crash() == -9
    killed = time.monotonic()

    async def took_over() -> tuple[bool, str]:
        return ACQUIRED in follower.output(), "the follower has not logged the acquisition yet"

    await eventually(took_over, timeout=15, what="the follower becomes the leader", watch=[follower],
                     interval=0.05)
    takeover = time.monotonic() - killed
    assert takeover < 10, f"takeover took {takeover:.1f}s"
    session = re.search(rf"{ACQUIRED} \(advisory lock, session (\d+)\)", follower.output())
    assert session, follower.output()[-2000:]
    print(f"\ntwo dispatchers: {ROWS} rows to {GROUPS} groups, each arrived once; sent per process "
          f"{dict(owners)}; {dispatched:.1f}s to here; leader SIGKILLed, the other leads after {takeover:.1f}s "
          f"(retry every 3 s); {time.monotonic() - began:.1f}s in all")
