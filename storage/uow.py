"""Unit of work: one session, one transaction, the repositories bound to it (cosmicpython style)."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from storage.customer_repository import CustomerRecords
from storage.notice_repository import Notices, Subscriptions
from storage.reports import DigestQueries, Reports
from storage.repositories import (
    Alerts,
    Customers,
    FailedUpdates,
    Groups,
    Inbound,
    Outbox,
    RiskEvents,
    Staffs,
    Stations,
    Surveys,
    Tickets,
)
from storage.wecom_repository import WecomRecords

__all__ = ["IntegrityError", "UnitOfWork"]


class UnitOfWork:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __enter__(self) -> UnitOfWork:
        self.session = Session(self._engine, expire_on_commit=False)
        self.stations = Stations(self.session)
        self.staff = Staffs(self.session)
        self.groups = Groups(self.session)
        self.customers = Customers(self.session)
        self.customer_records = CustomerRecords(self.session)  # ledger import/export, audit, export and erasure
        self.tickets = Tickets(self.session)
        self.inbound = Inbound(self.session)
        self.failed_updates = FailedUpdates(self.session)
        self.outbox = Outbox(self.session)
        self.risk = RiskEvents(self.session)
        self.alerts = Alerts(self.session)
        self.surveys = Surveys(self.session)
        self.reports = Reports(self.session)
        self.notices = Notices(self.session)
        self.subscriptions = Subscriptions(self.session)
        self.digest = DigestQueries(self.session)
        self.wecom = WecomRecords(self.session)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Anything not committed explicitly is rolled back: a crash never half-writes a ticket.
        # close() rolls back without expiring, so rows read here stay usable after the block.
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()
