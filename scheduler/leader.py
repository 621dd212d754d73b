"""Which of several gridbot processes on one database runs the scheduler.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own, taken out of the
engine's pool so no request ever uses (or closes) it. The lock lives as long as that session: when the
holder dies, its socket closes, PostgreSQL ends the session and the lock is free for the next process that
tries. On SQLite there is one process, and it always leads.

Leadership saves work, it is not what keeps things exactly-once: firing a notice phase, an SLA alert and an
outbox claim are each guarded in the database (unique keys, status checks, row locks), so two leaders for a
moment (a holder that lost its connection and has not noticed yet) send nothing twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import zlib
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)
# First half of the two-int advisory key ("grdb"); the second half is the schema's, so deployments (and
# test sessions) in different schemas of one database elect their leaders independently.
LOCK_NAMESPACE = 0x67726462
RETRY_SECONDS = 3.0  # a follower tries the lock (and a leader checks its connection) this often


def _int4(value: int) -> int:
    """An unsigned 32-bit number as the signed int4 PostgreSQL expects."""
    return value - (1 << 32) if value >= 1 << 31 else value


class LeaderLock:
    def __init__(self, engine: Engine, namespace: int = LOCK_NAMESPACE) -> None:
        self.engine = engine
        self.namespace = namespace
        self._conn: Connection | None = None
        self._held = False
        self._key: int | None = None
        self.backend_pid: int | None = None  # the session holding (or trying) the lock, for logs and tests
        self._guard = threading.Lock()  # one call at a time on the dedicated connection

    @property
    def exclusive(self) -> bool:
        """A single-process database: this process leads without asking."""
        return self.engine.dialect.name != "postgresql"

    def try_acquire(self) -> bool:
        if self.exclusive:
            return True
        with self._guard:
            if self._held and self._alive():
                return True
            self._held = False
            try:
                conn = self._connection()
                got = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"),
                                   {"ns": self.namespace, "key": self._key}).scalar()
            except DBAPIError as exc:
                log.warning("scheduler leader: could not ask for the lock: %s", exc.__class__.__name__)
                self._drop()
                return False
            self._held = bool(got)
            return self._held

    def is_held(self) -> bool:
        """Whether this process still holds the lock: its session must be alive (a round trip)."""
        if self.exclusive:
            return True
        with self._guard:
            return self._held and self._alive()

    def release(self) -> None:
        if self.exclusive:
            return
        with self._guard:
            if self._conn is not None and self._held:
                with contextlib.suppress(DBAPIError):
                    self._conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"),
                                       {"ns": self.namespace, "key": self._key})
            self._drop()

    def _connection(self) -> Connection:
        if self._conn is None:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            conn.detach()  # ours alone: never handed to a request, closed (lock and all) only by us
            schema = str(conn.execute(text("SELECT current_schema()")).scalar() or "")
            self._key = _int4(zlib.crc32(schema.encode()))
            self.backend_pid = int(conn.execute(text("SELECT pg_backend_pid()")).scalar() or 0)
            self._conn = conn
        return self._conn

    def _alive(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute(text("SELECT 1"))
        except DBAPIError:
            log.warning("scheduler leader: the lock's connection is gone")
            self._drop()
            return False
        return True

    def _drop(self) -> None:
        self._held = False
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # already broken: closing it is all that is left
                conn.close()


Hook = Callable[[], Awaitable[None]]


class Leadership:
    """Follow the lock: start the leader's work when it is acquired, stop it when it is lost or at shutdown.

    A follower tries every `retry_seconds`; a leader checks its session as often, so a killed leader is
    replaced within about that time (PostgreSQL frees the lock as soon as the dead session's socket closes).
    """

    def __init__(self, lock: LeaderLock, *, on_acquired: Hook, on_lost: Hook,
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self.lock = lock
        self.retry_seconds = retry_seconds
        self._on_acquired, self._on_lost = on_acquired, on_lost
        self.leading = False
        self._following = False  # told the log once that another process leads
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Try at once (a single-process database leads from here), then keep following in the background."""
        await self._attempt()
        self._task = asyncio.create_task(self._follow(), name="scheduler-leadership")

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self.retry_seconds)
            await self._attempt()

    async def _attempt(self) -> None:
        try:
            await self._tick()
        except Exception:  # the leader's work failed to start (or stop): give the lock up, try again later
            log.exception("scheduler leader: step failed")
            with contextlib.suppress(Exception):
                await self._step_down()

    async def _tick(self) -> None:
        if self.leading:
            if not await asyncio.to_thread(self.lock.is_held):
                log.warning("scheduler leader: lost")
                await self._step_down()
            return
        if await asyncio.to_thread(self.lock.try_acquire):
            self.leading, self._following = True, False
            how = "single process" if self.lock.exclusive else f"advisory lock, session {self.lock.backend_pid}"
            log.info("scheduler leader: acquired (%s)", how)
            await self._on_acquired()
        elif not self._following:
            self._following = True
            log.info("scheduler leader: another process leads; trying every %ss", self.retry_seconds)

    async def _step_down(self) -> bool:
        was_leading, self.leading = self.leading, False
        try:
            if was_leading:
                await self._on_lost()
        finally:
            await asyncio.to_thread(self.lock.release)
        return was_leading

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if await self._step_down() and not self.lock.exclusive:
            log.info("scheduler leader: released")
