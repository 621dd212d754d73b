"""The ticket state machine: which moves are legal, and what each move does to the clocks.

new → accepted → in_progress → resolved → closed is the main road (受理 → 处理 → 回复 → 回访 → 归档);
waiting_customer stops the clocks until the customer answers; resolved and closed tickets can be
reopened; merged and cancelled end a ticket without a resolution. Every move is a ticket event with
the actor, the time, a note and the states it went between.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from handlers.context import Context
from handlers.deadlines import CalendarOutOfRange, Duration, add_duration, monday_to_friday
from storage.models import Ticket, TicketClock, TicketEvent
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"accepted", "in_progress", "waiting_customer", "resolved", "merged", "cancelled"}),
    "accepted": frozenset({"in_progress", "waiting_customer", "resolved", "merged", "cancelled"}),
    "in_progress": frozenset({"waiting_customer", "resolved", "merged", "cancelled"}),
    "waiting_customer": frozenset({"in_progress", "resolved", "cancelled"}),
    "reopened": frozenset({"accepted", "in_progress", "waiting_customer", "resolved", "cancelled"}),
    "resolved": frozenset({"closed", "reopened"}),
    "closed": frozenset({"reopened"}),
    "merged": frozenset({"reopened"}),  # a wrongly linked report becomes a ticket of its own again
    "cancelled": frozenset(),
}
# The clocks that an event meets: contact (accepted or replied), arrival (/arrive), resolve (all of them).
CONTACT_MOVES = ("accepted", "in_progress")


class IllegalTransition(Exception):
    def __init__(self, ticket: Ticket, target: str) -> None:
        super().__init__(f"ticket {ticket.id}: {ticket.status} → {target} is not allowed")
        self.ticket, self.target = ticket, target


def can_move(ticket: Ticket, target: str) -> bool:
    return target in TRANSITIONS.get(ticket.status, frozenset())


def staff_actor(staff_id: int | None) -> str:
    return f"staff:{staff_id}" if staff_id else "system"


def move(uow: UnitOfWork, ctx: Context, ticket: Ticket, target: str, actor: str, *, note: str = "",
         action: str | None = None, data: dict[str, Any] | None = None) -> TicketEvent:
    """Move the ticket to `target` (or raise IllegalTransition) and log it as `action` (default: the state)."""
    if not can_move(ticket, target):
        raise IllegalTransition(ticket, target)
    now = ctx.clock()
    source = ticket.status
    if source == "waiting_customer":
        _resume_clocks(uow, ticket, now)
    ticket.status, ticket.updated_at = target, now
    if target in CONTACT_MOVES:
        ticket.first_response_at = ticket.first_response_at or now
        meet_clocks(uow, ticket, now, "contact")
    elif target == "waiting_customer":
        ticket.paused_at = now
    elif target == "resolved":
        ticket.resolved_at = now
        ticket.first_response_at = ticket.first_response_at or now
        meet_clocks(uow, ticket, now, "resolve")
    elif target in ("closed", "cancelled", "merged"):
        ticket.closed_at = now
    elif target == "reopened":
        ticket.resolved_at = ticket.closed_at = None
        ticket.last_customer_message_at = now  # what the customer writes next joins this ticket
        _reopen_clock(uow, ctx, ticket, now)
    uow.tickets.save(ticket)
    return uow.tickets.log(TicketEvent(ticket_id=ticket.id or 0, at=now, actor=actor, action=action or target,
                                       note=note, data={"from": source, "to": target, **(data or {})}))


def note(uow: UnitOfWork, ctx: Context, ticket: Ticket, actor: str, action: str, text: str = "",
         data: dict[str, Any] | None = None) -> TicketEvent:
    """An event that changes no state (an internal note, a reply while waiting, an urge)."""
    now = ctx.clock()
    ticket.updated_at = now
    uow.tickets.save(ticket)
    return uow.tickets.log(TicketEvent(ticket_id=ticket.id or 0, at=now, actor=actor, action=action, note=text,
                                       data=data or {}))


def meet_clocks(uow: UnitOfWork, ticket: Ticket, now: datetime, met_on: str) -> list[TicketClock]:
    """Mark the clocks this event meets; resolving meets every clock still running."""
    met = []
    for clock in uow.tickets.clocks(ticket.id or 0):
        if clock.met_at is None and (met_on == "resolve" or clock.met_on == met_on):
            clock.met_at = now
            uow.tickets.save_clock(clock)
            met.append(clock)
    return met


def arrive(uow: UnitOfWork, ctx: Context, ticket: Ticket, actor: str) -> list[TicketClock]:
    """The repair crew is on site: the arrival clock is met and the clocks that follow it start now."""
    now = ctx.clock()
    met = meet_clocks(uow, ticket, now, "arrival")
    names = {clock.name for clock in met}
    for clock in uow.tickets.clocks(ticket.id or 0):
        if clock.met_at is None and clock.after in names and clock.amount:
            clock.started_at = now
            clock.due_at = _add(ctx, now, Duration(clock.amount, clock.unit))
            uow.tickets.save_clock(clock)
    if met:
        if ticket.status in ("new", "reopened", "accepted"):
            move(uow, ctx, ticket, "in_progress", actor, action="arrived")
        else:
            note(uow, ctx, ticket, actor, "arrived")
    return met


def first_due(uow: UnitOfWork, ticket: Ticket) -> datetime | None:
    """The earliest deadline still running, shown to staff as the ticket's due time."""
    running = [clock.due_at for clock in uow.tickets.clocks(ticket.id or 0) if clock.met_at is None]
    return min(running) if running else None


def _resume_clocks(uow: UnitOfWork, ticket: Ticket, now: datetime) -> None:
    """Time spent waiting for the customer does not count: push the running clocks back by it."""
    if ticket.paused_at is None:
        return
    paused = now - ticket.paused_at
    for clock in uow.tickets.clocks(ticket.id or 0):
        if clock.met_at is None:
            clock.due_at += paused
            if clock.started_at is not None:
                clock.started_at += paused
            uow.tickets.save_clock(clock)
    ticket.paused_at = None
    ticket.due_at = first_due(uow, ticket)


def _reopen_clock(uow: UnitOfWork, ctx: Context, ticket: Ticket, now: datetime) -> None:
    """A reopened ticket gets a fresh deadline as long as its last promise (5 WD for most kinds)."""
    clocks = [clock for clock in uow.tickets.clocks(ticket.id or 0) if clock.amount]
    if not clocks:
        return
    last = clocks[-1]
    due = _add(ctx, now, Duration(last.amount, last.unit))
    uow.tickets.add_clock(TicketClock(ticket_id=ticket.id or 0, name="reopen", due_at=due, started_at=now,
                                      amount=last.amount, unit=last.unit, escalate=last.escalate))
    ticket.due_at = due


def _add(ctx: Context, start: datetime, duration: Duration) -> datetime:
    try:
        return add_duration(start, duration, ctx.tz)
    except CalendarOutOfRange as exc:  # never lose a deadline over a calendar update (handlers/tickets.py)
        log.error("working days counted Monday to Friday (holidays unknown): %s", exc)
        return add_duration(start, duration, ctx.tz, monday_to_friday)
