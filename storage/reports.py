"""Read-only reporting queries (KPIs, dashboard figures): aggregate over a period, never write.

Each query selects only the columns a report needs, as small frozen rows; the figures themselves
(medians, rates, attribution) are computed by the handlers, so the SQL stays portable across SQLite and
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlmodel import Session, col

from storage.models import (
    NoticePhase,
    OutboxMessage,
    RiskEvent,
    Staff,
    Station,
    Survey,
    Ticket,
    TicketAlert,
    TicketClock,
    TicketEvent,
)
from storage.repositories import OPEN_STATUSES

SURVEY_ANSWERED = ("rated", "awaiting_reason", "no_rating")


@dataclass(frozen=True, slots=True)
class OpenedRow:
    ticket_id: int
    assignee_id: int | None
    station_id: int | None
    opened_at: datetime
    first_response_at: datetime | None
    duplicate: bool  # merged under a parent: the same fault reported again


@dataclass(frozen=True, slots=True)
class EventRow:
    event_id: int
    ticket_id: int
    at: datetime
    actor: str
    assignee_id: int | None
    station_id: int | None


@dataclass(frozen=True, slots=True)
class ClockRow:
    ticket_id: int
    assignee_id: int | None
    station_id: int | None
    status: str
    paused_at: datetime | None
    name: str
    due_at: datetime
    met_at: datetime | None
    after: str | None


@dataclass(frozen=True, slots=True)
class SurveyRow:
    ticket_id: int
    staff_id: int | None
    station_id: int | None
    status: str
    score: int | None


def _duplicate() -> ColumnElement[bool]:
    # Both marks of a merged report, so a child whose status later changes still counts as a duplicate.
    return or_(col(Ticket.status) == "merged", col(Ticket.parent_id).is_not(None))


def _not_duplicate() -> ColumnElement[bool]:
    return and_(col(Ticket.status) != "merged", col(Ticket.parent_id).is_(None))


def _event_columns() -> Select[Any]:
    """An event with its ticket's assignee and station, for tickets that are not duplicates."""
    return (
        select(col(TicketEvent.id), col(TicketEvent.ticket_id), col(TicketEvent.at), col(TicketEvent.actor),
               col(Ticket.assignee_id), col(Ticket.station_id))
        .join(Ticket, col(Ticket.id) == col(TicketEvent.ticket_id))
        .where(_not_duplicate())
    )


class Reports:
    def __init__(self, session: Session) -> None:
        self.session = session

    def opened_tickets(self, start: datetime, end: datetime) -> list[OpenedRow]:
        """Tickets opened in [start, end), duplicates included but flagged."""
        rows = self.session.execute(
            select(col(Ticket.id), col(Ticket.assignee_id), col(Ticket.station_id), col(Ticket.opened_at),
                   col(Ticket.first_response_at), _duplicate())
            .where(col(Ticket.opened_at) >= start, col(Ticket.opened_at) < end)
            .order_by(col(Ticket.id))
        ).all()
        return [OpenedRow(r[0], r[1], r[2], r[3], r[4], bool(r[5])) for r in rows]

    def ticket_events(self, action: str, start: datetime, end: datetime) -> list[EventRow]:
        """Events of one action in [start, end), of tickets that are not duplicates, in time order."""
        return self._events(
            _event_columns()
            .where(col(TicketEvent.action) == action, col(TicketEvent.at) >= start, col(TicketEvent.at) < end)
        )

    def resolutions_of_reopened(self, start: datetime, end: datetime) -> list[EventRow]:
        """Every "resolved" event before `end` of the tickets reopened in [start, end): who had resolved them."""
        reopened = (
            select(col(TicketEvent.ticket_id))
            .where(col(TicketEvent.action) == "reopened", col(TicketEvent.at) >= start, col(TicketEvent.at) < end)
        )
        return self._events(
            _event_columns()
            .where(col(TicketEvent.action) == "resolved", col(TicketEvent.at) < end)
            .where(col(TicketEvent.ticket_id).in_(reopened))
        )

    def _events(self, query: Select[Any]) -> list[EventRow]:
        rows = self.session.execute(query.order_by(col(TicketEvent.at), col(TicketEvent.id))).all()
        return [EventRow(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]

    def clocks_of_opened(self, start: datetime, end: datetime) -> list[ClockRow]:
        """The clocks of the tickets opened in [start, end) that are not duplicates."""
        rows = self.session.execute(
            select(col(TicketClock.ticket_id), col(Ticket.assignee_id), col(Ticket.station_id), col(Ticket.status),
                   col(Ticket.paused_at), col(TicketClock.name), col(TicketClock.due_at), col(TicketClock.met_at),
                   col(TicketClock.after))
            .join(Ticket, col(Ticket.id) == col(TicketClock.ticket_id))
            .where(col(Ticket.opened_at) >= start, col(Ticket.opened_at) < end, _not_duplicate())
            .order_by(col(TicketClock.ticket_id), col(TicketClock.id))
        ).all()
        return [ClockRow(*r) for r in rows]

    def answered_surveys(self, start: datetime, end: datetime) -> list[SurveyRow]:
        """Surveys answered (rated, awaiting a reason, or closed without a rating) in [start, end)."""
        rows = self.session.execute(
            select(col(Survey.ticket_id), col(Survey.staff_id), col(Survey.station_id), col(Survey.status),
                   col(Survey.score))
            .where(col(Survey.status).in_(SURVEY_ANSWERED))
            .where(col(Survey.answered_at) >= start, col(Survey.answered_at) < end)
            .order_by(col(Survey.id))
        ).all()
        return [SurveyRow(*r) for r in rows]

    def staff_names(self, staff_ids: Iterable[int]) -> dict[int, str]:
        ids = sorted(set(staff_ids))
        if not ids:
            return {}
        rows = self.session.execute(select(col(Staff.id), col(Staff.name)).where(col(Staff.id).in_(ids))).all()
        return {r[0]: r[1] for r in rows}

    def stations(self) -> Sequence[tuple[int, str]]:
        rows = self.session.execute(select(col(Station.id), col(Station.name)).order_by(col(Station.id))).all()
        return [(r[0], r[1]) for r in rows]


@dataclass(frozen=True, slots=True)
class OpenTicketRow:
    ticket_id: int
    kind: str
    assignee_id: int | None
    station_id: int | None
    overdue_since: datetime | None  # the earliest unmet clock already past due, if any


class DigestQueries:
    """What a supervisor's digest counts: the state now and what happened in the period."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def open_tickets(self, now: datetime) -> list[OpenTicketRow]:
        overdue = (select(col(TicketClock.ticket_id), func.min(col(TicketClock.due_at)).label("since"))
                   .where(col(TicketClock.met_at).is_(None), col(TicketClock.due_at) < now)
                   .group_by(col(TicketClock.ticket_id)).subquery())
        rows = self.session.execute(
            select(col(Ticket.id), col(Ticket.kind), col(Ticket.assignee_id), col(Ticket.station_id), overdue.c.since)
            .outerjoin(overdue, overdue.c.ticket_id == col(Ticket.id))
            .where(col(Ticket.status).in_(OPEN_STATUSES))
            .order_by(col(Ticket.id))
        ).all()
        return [OpenTicketRow(r[0], r[1], r[2], r[3], r[4]) for r in rows]

    def opened_count(self, start: datetime, end: datetime) -> int:
        return int(self.session.execute(
            select(func.count()).select_from(Ticket)
            .where(col(Ticket.opened_at) >= start, col(Ticket.opened_at) < end, col(Ticket.parent_id).is_(None))
        ).scalar_one())

    def opened_times(self, start: datetime, end: datetime) -> list[datetime]:
        """When the tickets of the period were opened (linked duplicates left out), for the per-day chart."""
        return list(self.session.execute(
            select(col(Ticket.opened_at))
            .where(col(Ticket.opened_at) >= start, col(Ticket.opened_at) < end, col(Ticket.parent_id).is_(None))
        ).scalars().all())

    def resolved_times(self, start: datetime, end: datetime) -> list[datetime]:
        return list(self.session.execute(
            select(col(Ticket.resolved_at))
            .where(col(Ticket.resolved_at) >= start, col(Ticket.resolved_at) < end, col(Ticket.parent_id).is_(None))
        ).scalars().all())

    def escalations(self, start: datetime, end: datetime) -> int:
        return int(self.session.execute(
            select(func.count()).select_from(TicketAlert)
            .where(col(TicketAlert.at) >= start, col(TicketAlert.at) < end, col(TicketAlert.level) != "warn")
        ).scalar_one())

    def scores(self, start: datetime, end: datetime) -> list[int]:
        return [int(score) for score in self.session.execute(
            select(col(Survey.score)).where(col(Survey.score).is_not(None), col(Survey.answered_at) >= start,
                                       col(Survey.answered_at) < end)
        ).scalars().all()]

    def risk_events(self, start: datetime, end: datetime) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for r in self.session.execute(
            select(col(RiskEvent.category), col(RiskEvent.action))
            .where(col(RiskEvent.at) >= start, col(RiskEvent.at) < end)
        ).all()]

    def notice_rows(self, start: datetime, end: datetime) -> tuple[int, int, int]:
        """Notice phases fired in the period, and their group messages sent and failed."""
        fired = int(self.session.execute(
            select(func.count()).select_from(NoticePhase)
            .where(col(NoticePhase.status) == "sent")
            .where(col(NoticePhase.fired_at) >= start, col(NoticePhase.fired_at) < end)
        ).scalar_one())
        rows = self.session.execute(
            select(col(OutboxMessage.sent_at), col(OutboxMessage.failed_at))
            .where(col(OutboxMessage.notice_phase_id).is_not(None), col(OutboxMessage.created_at) >= start,
                   col(OutboxMessage.created_at) < end)
        ).all()
        return fired, sum(r[0] is not None for r in rows), sum(r[1] is not None for r in rows)

    def existing_keys(self, keys: list[str]) -> set[str]:
        """Which of these outbox keys were written already (digests and notices are sent once per key)."""
        if not keys:
            return set()
        return {key for key in self.session.execute(
            select(col(OutboxMessage.dedupe_key)).where(col(OutboxMessage.dedupe_key).in_(keys))).scalars() if key}
