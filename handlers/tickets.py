"""Opening tickets: customer record, assignment, clocks, the event log and the texts that announce it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from handlers.assignment import pick_assignee
from handlers.classifier import Classification
from handlers.context import Context
from handlers.deadlines import CalendarOutOfRange, DueClock, monday_to_friday
from handlers.extraction import Extracted
from handlers.types import ChatRef, Incoming, Kind
from storage.models import Customer, Staff, Ticket, TicketClock, TicketEvent
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
IMPORTANT_GRADES = ("特级", "一级", "二级")


@dataclass(frozen=True, slots=True)
class OpenedTicket:
    number: str
    customer_reply: str
    manager_chat: ChatRef | None
    manager_alert: str


def open_ticket(uow: UnitOfWork, ctx: Context, incoming: Incoming, text: str, verdict: Classification,
                found: Extracted, group_id: int | None) -> OpenedTicket:
    now = ctx.clock()
    customer = _customer_for(uow, incoming, found, now)
    group = uow.groups.get(group_id) if group_id else None
    area = uow.stations.area_by_id(group.area_id) if group and group.area_id else None
    station_id = area.station_id if area else uow.stations.get_or_create(ctx.station_name).id
    parent = None
    if area is not None and verdict.kind is Kind.REPAIR and ctx.duplicate_window:
        parent = uow.tickets.fault_parent(area.id or 0, verdict.kind.value, now - ctx.duplicate_window)
    manager = None if parent else pick_assignee(uow, group, station_id, now)
    area_type = customer.locality or (area.area_type if area else ctx.default_area_type)
    important = (customer.importance or "") in IMPORTANT_GRADES
    clocks = [] if parent else _clocks(ctx, verdict, now, area_type, important)
    ticket = uow.tickets.add(Ticket(
        kind=verdict.kind.value, text=text, customer_id=customer.id, group_id=group_id,
        platform=incoming.chat.platform, chat_id=incoming.chat.chat_id,
        sender_user_id=incoming.sender.user_id, sender_name=incoming.sender.display_name,
        source_message_id=incoming.message_id, assignee_id=manager.id if manager else None,
        confidence=verdict.confidence, opened_at=now, updated_at=now, last_customer_message_at=now,
        due_at=clocks[0].due_at if clocks else None, area_id=area.id if area else None, station_id=station_id,
        important=important, status="merged" if parent else "new", parent_id=parent.id if parent else None,
        closed_at=now if parent else None,
    ))
    assert ticket.id is not None
    for clock in clocks:
        uow.tickets.add_clock(TicketClock(
            ticket_id=ticket.id, name=clock.name, due_at=clock.due_at, started_at=clock.started_at,
            amount=clock.duration.amount, unit=clock.duration.unit, met_on=clock.met_on, after=clock.after,
            escalate=clock.escalate))
    actor = f"customer:{incoming.sender.platform}:{incoming.sender.user_id}"
    uow.tickets.log(TicketEvent(ticket_id=ticket.id, at=now, actor=actor, action="opened", note=text,
                                data={"message_id": incoming.message_id, "cues": list(verdict.cues)}))
    if parent is not None:
        return _link(uow, ctx, ticket, parent, incoming)
    if manager is not None:
        uow.tickets.log(TicketEvent(ticket_id=ticket.id, at=now, actor="system", action="assigned",
                                    data={"staff_id": manager.id}))
    return _announce(ctx, ticket, incoming, clocks, manager)


def link(uow: UnitOfWork, ctx: Context, child: Ticket, parent: Ticket, actor: str) -> None:
    """Record a duplicate report under its parent, on both tickets' timelines."""
    now = ctx.clock()
    uow.tickets.log(TicketEvent(ticket_id=child.id or 0, at=now, actor=actor, action="linked",
                                data={"parent": parent.id}))
    uow.tickets.log(TicketEvent(ticket_id=parent.id or 0, at=now, actor=actor, action="linked",
                                note=child.text[:200], data={"child": child.id}))


def _link(uow: UnitOfWork, ctx: Context, ticket: Ticket, parent: Ticket, incoming: Incoming) -> OpenedTicket:
    link(uow, ctx, ticket, parent, "system")
    reply = ctx.texts("ticket.linked", name=incoming.sender.display_name or "", number=ticket.id,
                      parent=parent.id, kind=ctx.texts(f"kind.{parent.kind}"))
    return OpenedTicket(str(ticket.id), reply, None, "")


def remember_contact(uow: UnitOfWork, ticket: Ticket, found: Extracted) -> None:
    """Fill the customer's 户号 and phone from what they wrote, never overwriting known values."""
    customer = uow.customers.get(ticket.customer_id) if ticket.customer_id else None
    if customer is not None:
        _fill_contact(uow, customer, found)


def _customer_for(uow: UnitOfWork, incoming: Incoming, found: Extracted, now: datetime) -> Customer:
    sender = incoming.sender
    customer = uow.customers.by_chat_account(sender.platform, sender.user_id)
    if customer is None:
        customer = uow.customers.save(Customer(name=sender.display_name[:100], platform=sender.platform,
                                               user_id=sender.user_id, created_at=now))
    _fill_contact(uow, customer, found)
    return customer


def _fill_contact(uow: UnitOfWork, customer: Customer, found: Extracted) -> None:
    if customer.phone is None and found.phones:
        customer.phone = found.phones[0]
    # A 户号 already linked to another record is left for a manager to resolve.
    if (customer.account_no is None and found.account_numbers
            and uow.customers.by_account_no(found.account_numbers[0]) is None):
        customer.account_no = found.account_numbers[0]
    if not customer.address and found.address_hints:
        customer.address = found.address_hints[0][:300]
    uow.customers.save(customer)


def _clocks(ctx: Context, verdict: Classification, now: datetime, area_type: str,
            important: bool) -> list[DueClock]:
    try:
        return ctx.deadlines.clocks(verdict.kind, now, area_type=area_type, important=important, tz=ctx.tz)
    except CalendarOutOfRange as exc:
        # Never lose an appeal over a calendar update: count Monday to Friday, and say so loudly.
        log.error("working days counted Monday to Friday (holidays unknown): %s", exc)
        return ctx.deadlines.clocks(verdict.kind, now, area_type=area_type, important=important, tz=ctx.tz,
                                    workday=monday_to_friday)


def _announce(ctx: Context, ticket: Ticket, incoming: Incoming, clocks: list[DueClock],
              manager: Staff | None) -> OpenedTicket:
    texts, number = ctx.texts, str(ticket.id)
    kind = texts(f"kind.{ticket.kind}")
    name = incoming.sender.display_name or ""
    if clocks:
        first = clocks[0]
        duration = texts(f"unit.{first.duration.unit}", n=first.duration.amount)
        promise = texts(f"promise.{first.name}", duration=duration, due=texts.when(first.due_at))
        reply = texts("ticket.opened", name=name, kind=kind, number=number, promise=promise)
    else:
        reply = texts("ticket.opened_no_promise", name=name, kind=kind, number=number)
    due = texts.when(clocks[0].due_at) if clocks else "-"
    alert = texts("ticket.manager_alert", number=number, kind=kind, group=incoming.chat_title,
                  customer=name, text=ticket.text[:200], due=due)
    manager_chat = ChatRef(manager.platform, manager.user_id) if manager else None
    return OpenedTicket(number, reply, manager_chat, alert)
