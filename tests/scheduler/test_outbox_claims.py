"""Outbox claims: a row is sent by the dispatcher that claimed it, until its lease runs out.

On SQLite and PostgreSQL; on PostgreSQL also real concurrency: threads claiming at the same moment get
disjoint rows, and one claimer never waits for the rows another is claiming (FOR UPDATE SKIP LOCKED).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from storage.models import OutboxMessage
from storage.uow import UnitOfWork

NOW = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
LEASE = timedelta(seconds=120)


def fill(engine: Engine, n: int, *, created_at: datetime = NOW, chats: int = 3) -> list[int]:
    with UnitOfWork(engine) as uow:
        rows = [uow.outbox.add(OutboxMessage(platform="telegram", chat_id=f"-{100 + i % chats}", text=f"row {i}",
                                             created_at=created_at)) for i in range(n)]
        uow.commit()
    return [row.id or 0 for row in rows]


def claim(engine: Engine, owner: str, now: datetime = NOW, limit: int = 100, **options: object) -> list[int]:
    with UnitOfWork(engine) as uow:
        rows = uow.outbox.claim("telegram", owner, now + LEASE, now, limit, **options)  # type: ignore[arg-type]
        uow.commit()
    return [row.id or 0 for row in rows]


def claimed_by(engine: Engine, ids: Sequence[int]) -> dict[int, str | None]:
    with UnitOfWork(engine) as uow:
        return {row_id: row.claimed_by for row_id in ids if (row := uow.session.get(OutboxMessage, row_id))}


def test_claims_skip_rows_another_owner_holds_until_the_lease_runs_out(engine: Engine) -> None:
    ids = fill(engine, 5)
    assert claim(engine, "a", limit=3) == ids[:3]
    assert claim(engine, "b") == ids[3:]
    assert claim(engine, "c") == []  # everything is held
    assert claim(engine, "a") == ids[:3]  # an owner gets its own rows again (a transient failure's retry)
    assert claimed_by(engine, ids) == {**dict.fromkeys(ids[:3], "a"), **dict.fromkeys(ids[3:], "b")}

    with UnitOfWork(engine) as uow:  # a sent and a failed row are never claimed again
        uow.outbox.mark_sent(ids[0], NOW)
        uow.outbox.mark_failed(ids[1], NOW, "kicked")
        uow.commit()
    assert claim(engine, "c", now=NOW + LEASE - timedelta(seconds=1)) == []
    assert claim(engine, "c", now=NOW + LEASE) == ids[2:]  # every lease ran out: c takes the rest over


def test_claim_filters_by_age_and_leaves_out_the_rows_in_hand(engine: Engine) -> None:
    old = fill(engine, 2, created_at=NOW - timedelta(minutes=5))
    fresh = fill(engine, 2, created_at=NOW)
    assert claim(engine, "a", created_before=NOW - timedelta(seconds=30)) == old
    assert claim(engine, "a", exclude=old) == fresh
    assert claim(engine, "b", ignore_leases=True) == old + fresh  # single-process SQLite: a dead run's claims


def test_claim_ids_renew_and_release(engine: Engine) -> None:
    ids = fill(engine, 4)
    assert claim(engine, "a", limit=2) == ids[:2]
    with UnitOfWork(engine) as uow:
        assert uow.outbox.claim_ids(ids, "b", NOW + LEASE, NOW) == set(ids[2:])  # a's rows are a's
        assert uow.outbox.claim_ids([], "b", NOW + LEASE, NOW) == set()
        uow.commit()
    with UnitOfWork(engine) as uow:
        assert uow.outbox.renew(ids, "a", NOW + 3 * LEASE) == 2  # only a's own rows
        uow.commit()
    assert claim(engine, "c", now=NOW + 2 * LEASE) == ids[2:]  # b's lease is over, a's was renewed
    with UnitOfWork(engine) as uow:
        assert uow.outbox.release("a") == 2  # a graceful stop gives the rest back at once
        uow.commit()
    assert claim(engine, "d", now=NOW + 2 * LEASE - timedelta(seconds=1)) == ids[:2]


# Row locks: PostgreSQL only (SQLite has one writer, and one dispatcher).
postgres_only = pytest.mark.parametrize("migrated_engine", ["postgres"], indirect=True)


@postgres_only
def test_a_claimer_skips_rows_being_claimed_instead_of_waiting(engine: Engine) -> None:
    ids = fill(engine, 60)
    holding, done = threading.Event(), threading.Event()
    first: list[int] = []

    def slow_claimer() -> None:  # claims, then keeps its transaction (and row locks) open for a while
        with UnitOfWork(engine) as uow:
            first.extend(row.id or 0 for row in uow.outbox.claim("telegram", "slow", NOW + LEASE, NOW, 20))
            holding.set()
            done.wait(5)
            uow.commit()

    thread = threading.Thread(target=slow_claimer)
    thread.start()
    try:
        assert holding.wait(5)
        started = time.monotonic()
        second = claim(engine, "fast", limit=20)
        waited = time.monotonic() - started
    finally:
        done.set()
        thread.join(5)
    assert first == ids[:20]
    assert second == ids[20:40], "the second claimer must pass over the locked rows"
    assert waited < 1.0, f"the second claimer waited {waited:.2f}s for the first one's locks"


@postgres_only
def test_concurrent_claimers_get_disjoint_rows(engine: Engine) -> None:
    ids = fill(engine, 300, chats=30)
    barrier = threading.Barrier(6)

    def dispatcher(owner: str) -> list[int]:
        barrier.wait(5)
        mine: list[int] = []
        while batch := claim(engine, owner, limit=7, exclude=mine):  # rows in hand, as the delivery does
            mine.extend(batch)
            time.sleep(0.001)  # let the others in between batches
        return mine

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(dispatcher, [f"dispatcher-{n}" for n in range(6)]))
    every = [row_id for result in results for row_id in result]
    assert sorted(every) == ids, "each row claimed exactly once"
    assert sum(1 for result in results if result) >= 2, f"no real concurrency: {[len(r) for r in results]}"
    owners = claimed_by(engine, ids)
    for n, result in enumerate(results):
        assert {owners[row_id] for row_id in result} <= {f"dispatcher-{n}"}
