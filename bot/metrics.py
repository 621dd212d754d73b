"""Prometheus metrics at /metrics.

Counted in this process: updates received and handled per platform, the handling latency, and outbox send
errors. Read from the database at each scrape, so they are true for all instances together: tickets opened
by kind, the outbox backlog and failed rows, and risk events by level. A scrape whose database query fails
reports `gridbot_database_up 0` instead of failing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from storage.models import OutboxMessage, RiskEvent, Ticket

log = logging.getLogger(__name__)
disable_created_metrics()  # the *_created series only double the output

REGISTRY = CollectorRegistry()
UPDATES_RECEIVED = Counter("gridbot_updates_received", "Updates received from a platform.", ["platform"],
                           registry=REGISTRY)
UPDATES_HANDLED = Counter("gridbot_updates_handled", "Updates done with: handled, or parked after retries.",
                          ["platform", "result"], registry=REGISTRY)
HANDLING_SECONDS = Histogram("gridbot_update_handling_seconds", "Time from receiving an update to done with it.",
                             ["platform"], registry=REGISTRY,
                             buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
SEND_ERRORS = Counter("gridbot_outbox_send_errors", "Failed send attempts: retried (429, 5xx, network) or given up.",
                      ["platform", "kind"], registry=REGISTRY)


class DatabaseCollector(Collector):
    """Figures kept in the database, read at scrape time."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("gridbot_database_up", "1 when the database answered this scrape.")
        try:
            families = list(self._families())
        except Exception as exc:  # a scrape must not fail because the database is away
            log.warning("metrics: database unreachable: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families

    def _families(self) -> Iterator[Metric]:
        with Session(self.engine) as session:
            opened = CounterMetricFamily("gridbot_tickets_opened", "Tickets opened, by kind (all instances).",
                                         labels=["kind"])
            for kind, count in session.execute(
                    select(col(Ticket.kind), func.count()).group_by(col(Ticket.kind))).all():
                opened.add_metric([kind], count)
            yield opened
            pending = (col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None))
            backlog = GaugeMetricFamily("gridbot_outbox_backlog", "Outbox rows waiting to be sent.",
                                        labels=["platform"])
            for platform, count in session.execute(
                    select(col(OutboxMessage.platform), func.count()).where(*pending)
                    .group_by(col(OutboxMessage.platform))).all():
                backlog.add_metric([platform], count)
            yield backlog
            failed = CounterMetricFamily("gridbot_outbox_failed", "Outbox rows given up on (all instances).",
                                         labels=["platform"])
            for platform, count in session.execute(
                    select(col(OutboxMessage.platform), func.count()).where(col(OutboxMessage.failed_at).is_not(None))
                    .group_by(col(OutboxMessage.platform))).all():
                failed.add_metric([platform], count)
            yield failed
            risk = CounterMetricFamily("gridbot_risk_events", "Risk events recorded, by level (all instances).",
                                       labels=["level"])
            for level, count in session.execute(
                    select(col(RiskEvent.level), func.count()).group_by(col(RiskEvent.level))).all():
                risk.add_metric([level], count)
            yield risk


def registry_with(engine: Engine) -> CollectorRegistry:
    """This process's counters plus the database figures of `engine`, for one /metrics endpoint."""
    registry = CollectorRegistry()
    registry.register(_Forward(REGISTRY))
    registry.register(DatabaseCollector(engine))
    return registry


class _Forward(Collector):
    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Metric]:
        yield from self.source.collect()
