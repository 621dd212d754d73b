"""Where the edge runs blocking database work, off the event loop.

SQLite lets one writer in at a time; several threads writing at once only queue on its lock (its busy
handler sleeps 1, 2, 5, 10 ms …), so SQLite gets one thread. PostgreSQL gets a few.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.engine import Engine

T = TypeVar("T")


class DatabaseWorkers:
    def __init__(self, threads: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gridbot-db")

    @classmethod
    def for_engine(cls, engine: Engine) -> DatabaseWorkers:
        return cls(1 if engine.dialect.name == "sqlite" else 6)

    async def run(self, function: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        # In a copy of the caller's context, so the core's log lines carry the update and chat (bot/logs.py).
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._pool, functools.partial(context.run, function, *args))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
