"""Deadline warnings and the escalation ladder (../shared/DOMAIN.md, mirrors 95598 四级预警催办).

warn  the assignee, at 75% of a minute/hour clock or 2 working days before a working-day one;
L1    the station's supervisors when the clock is breached;
L2    the county service centre `ctx.l2_delay` after the breach;
L2now the county at once, for important customers and 特殊/重大 complaints.

Each alert goes out once, across restarts and across instances: it is claimed by a `ticket_alert` row with a
unique key, written in the same transaction as its outbox rows and its ticket event, so either all of them
exist or none does. A met clock, a closed ticket or one waiting for the customer is not returned by the
repository, so nothing more is sent for it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from handlers.context import Context
from handlers.deadlines import CalendarOutOfRange, monday_to_friday, warning_time
from handlers.outbox import queue
from handlers.types import ChatRef, Outcome, Queued, Send
from storage.models import Staff, Ticket, TicketAlert, TicketClock, TicketEvent
from storage.uow import IntegrityError, UnitOfWork

log = logging.getLogger(__name__)
WARN, L1, L2, L2_NOW = "warn", "L1", "L2", "L2now"
TEMPLATES = {WARN: "sla.warn", L1: "sla.l1", L2: "sla.l2", L2_NOW: "sla.at_once"}


@dataclass(frozen=True, slots=True)
class DueAlert:
    """An alert that is due and was not sent when the sweep looked."""

    key: str
    level: str
    ticket: Ticket
    clock: TicketClock | None  # None for L2now, which is about the ticket, not one of its clocks


def alert_key(ticket_id: int | None, clock_id: int | None, level: str) -> str:
    return f"{ticket_id}:{'-' if clock_id is None else clock_id}:{level}"


def sweep(ctx: Context) -> Outcome:
    """Queue every warning and escalation that is due now; returns what was queued, for immediate delivery."""
    now = ctx.clock()
    outcome = Outcome()
    for due in due_alerts(ctx, now):
        try:
            queued = _send_once(ctx, due, now)
        except Exception:  # one bad alert must not hold back the others; the next sweep tries it again
            log.exception("alert %s not sent, will retry", due.key)
            continue
        outcome.actions.extend(item.action for item in queued)
        outcome.queued.extend(queued)
    return outcome


def due_alerts(ctx: Context, now: datetime) -> list[DueAlert]:
    """The alerts due at `now` and not yet recorded, L1 before L2 for each clock."""
    found: list[DueAlert] = []
    fallback = 0
    quiet = in_quiet_hours(ctx, now)
    with ctx.uow() as uow:
        running = uow.tickets.running_clocks()
        at_once = uow.tickets.escalate_at_once()
        # One query for what was sent, not one per clock: long-overdue clocks come back every sweep.
        sent = uow.alerts.keys_for({t.id or 0 for _, t in running} | {t.id or 0 for t in at_once})
        unmet = {(ticket.id, clock.name) for clock, ticket in running}
        for clock, ticket in running:
            # A clock that follows an unmet one (restoration after arrival) has not started: its due time
            # is only an estimate, and the earlier clock is the one being escalated.
            if clock.after is not None and (ticket.id, clock.after) in unmet:
                continue
            levels, fell_back = _levels(ctx, clock, ticket, now)
            if quiet:  # at night only L2 goes out; warnings and L1 wait for the morning (still due then)
                levels = [level for level in levels if level not in (WARN, L1)]
            fallback += fell_back
            for level in levels:
                key = alert_key(ticket.id, clock.id, level)
                if key not in sent:
                    found.append(DueAlert(key, level, ticket, clock))
        for ticket in at_once:
            key = alert_key(ticket.id, None, L2_NOW)
            if key not in sent:
                found.append(DueAlert(key, L2_NOW, ticket, None))
    if fallback:  # once per sweep, not once per clock: the sweep runs every few seconds
        log.error("%d working-day warnings counted Monday to Friday (holidays unknown): "
                  "upgrade the chinesecalendar package", fallback)
    return found


def in_quiet_hours(ctx: Context, now: datetime) -> bool:
    if ctx.quiet_hours is None:
        return False
    start, end = ctx.quiet_hours
    local = now.astimezone(ctx.tz).time()
    return start <= local < end if start <= end else local >= start or local < end  # 22:00-07:00 spans midnight


def _levels(ctx: Context, clock: TicketClock, ticket: Ticket, now: datetime) -> tuple[list[str], bool]:
    """The levels this clock has reached, and whether the warning time needed the stand-in calendar."""
    if now >= clock.due_at:
        # Breached at first sight: no warning any more, but L1 (and L2 when long overdue) at once, L1 first.
        return ([L1, L2] if now >= clock.due_at + ctx.l2_delay else [L1]), False
    start = clock.started_at or ticket.opened_at
    try:
        warn_at, fell_back = warning_time(start, clock.due_at, clock.unit, ctx.tz), False
    except CalendarOutOfRange:  # never skip a warning over a calendar update (handlers/tickets.py)
        warn_at, fell_back = warning_time(start, clock.due_at, clock.unit, ctx.tz, monday_to_friday), True
    return ([WARN] if now >= warn_at else []), fell_back


def _send_once(ctx: Context, due: DueAlert, now: datetime) -> list[Queued]:
    """Claim the alert and queue its messages in one transaction; another instance's claim wins quietly."""
    ticket, clock = due.ticket, due.clock
    with ctx.uow() as uow:
        if uow.alerts.sent(due.key):  # sent meanwhile, by another instance
            return []
        recipients = _recipients(uow, ctx, due)
        text = _text(uow, ctx, due)
        actions = [Send(chat, text, shows_numbers=private) for chat, private in recipients]
        if not actions:  # recorded anyway, or it would be retried (and logged) every sweep forever
            log.warning("alert %s has no recipient: register a supervisor or admin, or set county chats",
                        due.key)
        try:
            uow.alerts.claim(TicketAlert(key=due.key, ticket_id=ticket.id or 0,
                                         clock_id=clock.id if clock else None, level=due.level, at=now,
                                         recipients=len(actions)))
            uow.tickets.log(TicketEvent(
                ticket_id=ticket.id or 0, at=now, actor="system",
                action="warned" if due.level == WARN else "escalated",
                data={"level": due.level, "clock": clock.name if clock else None, "recipients": len(actions)}))
            outcome = queue(uow, Outcome(actions=list(actions)), now)
            uow.commit()
        except IntegrityError:  # the key is taken: another instance claimed it between our check and insert
            uow.rollback()
            log.info("alert %s already sent by another instance", due.key)
            return []
    log.info("ticket %s: %s alert to %d chat(s)", ticket.id, due.level, len(actions))
    return outcome.queued


def _recipients(uow: UnitOfWork, ctx: Context, due: DueAlert) -> list[tuple[ChatRef, bool]]:
    """Who gets the alert, with whether the chat may show phone numbers (staff private chats may)."""
    ticket = due.ticket
    if due.level == WARN:
        assignee = _assignee(uow, ticket)
        if assignee is not None:
            return [_private(assignee)]
        return _station_heads(uow, ticket)  # nobody owns the ticket: its warning goes up one level
    if due.level == L1:
        return _station_heads(uow, ticket)
    if ctx.county_chats:  # a group chat of the county centre: numbers are masked there
        return [(chat, False) for chat in ctx.county_chats]
    return [_private(staff) for staff in uow.staff.with_role("admin", ticket.station_id)]


def _station_heads(uow: UnitOfWork, ticket: Ticket) -> list[tuple[ChatRef, bool]]:
    """The station's supervisors (所长); the admins when the station has none."""
    heads = uow.staff.with_role("supervisor", ticket.station_id) or uow.staff.with_role("admin", ticket.station_id)
    return [_private(staff) for staff in heads]


def _private(staff: Staff) -> tuple[ChatRef, bool]:
    return ChatRef(staff.platform, staff.user_id), True


def _assignee(uow: UnitOfWork, ticket: Ticket) -> Staff | None:
    staff = uow.staff.get(ticket.assignee_id) if ticket.assignee_id else None
    return staff if staff is not None and staff.active else None


def _text(uow: UnitOfWork, ctx: Context, due: DueAlert) -> str:
    ticket, clock, texts = due.ticket, due.clock, ctx.texts
    assignee = uow.staff.get(ticket.assignee_id) if ticket.assignee_id else None
    group = uow.groups.get(ticket.group_id) if ticket.group_id else None
    values: dict[str, object] = {
        "number": ticket.id, "kind": texts(f"kind.{ticket.kind}"),
        "assignee": assignee.name if assignee else "-",
        "group": group.title if group is not None and group.title else ticket.chat_id,
        "customer": ticket.sender_name, "text": ticket.text[:200],
    }
    if clock is None:
        why = texts("sla.why_important") if ticket.important else texts("sla.why_level", level=ticket.level)
        return texts(TEMPLATES[due.level], why=why, **values)
    return texts(TEMPLATES[due.level], clock=_clock_name(ctx, clock.name), due=texts.when(clock.due_at), **values)


def _clock_name(ctx: Context, name: str) -> str:
    try:
        return ctx.texts(f"clock.{name}")
    except KeyError:  # a station's own deadlines file may name clocks the templates do not know
        return name
