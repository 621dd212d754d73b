"""The appeal router: a customer message in a group becomes a ticket, or joins the customer's open one.

Everything a message changes is written in one transaction together with its idempotency row, so a
redelivered message (same platform, chat and message id) never opens a second ticket.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from handlers.classifier import Classification
from handlers.context import Context
from handlers.extraction import Extracted, extract
from handlers.lifecycle import first_due, move
from handlers.outbox import queue
from handlers.privacy import mask_text
from handlers.risk import screen
from handlers.tickets import open_ticket, remember_contact
from handlers.types import ChatRef, ChatType, Incoming, Kind, Outcome, Send
from storage.models import ChatGroup, InboundMessage, Ticket, TicketEvent
from storage.uow import IntegrityError, UnitOfWork

log = logging.getLogger(__name__)


def handle_group_message(incoming: Incoming, ctx: Context) -> Outcome:
    text = incoming.text[: ctx.max_text_chars]
    now = ctx.clock()
    hits = ctx.risk.find(text) if ctx.risk is not None else []
    hits += ctx.behaviour.message(incoming.chat.chat_id, incoming.sender.user_id, text, now)
    verdict = ctx.classifier.classify(text)
    found = extract(text)
    expected = _expected_words(incoming, ctx, now)
    if not hits and verdict.kind is Kind.NONE and not found.any and not expected:
        return _chat(incoming, ctx, now)  # most messages: nothing to open, append or say
    with ctx.uow() as uow:
        try:
            inbound = uow.inbound.claim(InboundMessage(
                platform=incoming.chat.platform, chat_id=incoming.chat.chat_id,
                message_id=incoming.message_id, sender_user_id=incoming.sender.user_id,
                kind=verdict.kind.value, received_at=now,
            ))
        except IntegrityError:
            log.info("duplicate message %s/%s ignored", incoming.chat.chat_id, incoming.message_id)
            return Outcome(duplicate=True)
        group = _group_of(uow, incoming, now)
        staff = uow.staff.find(incoming.sender.platform, incoming.sender.user_id)
        outcome = Outcome(kind=verdict.kind)
        removed = bool(hits) and screen(uow, ctx, incoming, hits, group, staff, outcome)
        if staff is None and not removed:  # staff talk in groups is never an appeal
            routed = _route(uow, ctx, incoming, text, verdict, found, group.id)
            outcome.actions += routed.actions
            outcome.ticket_number = routed.ticket_number
        inbound.ticket_id = int(outcome.ticket_number) if outcome.ticket_number else None
        queue(uow, outcome, now)
        uow.commit()
    log.info("message %s/%s → %s %s", incoming.chat.chat_id, incoming.message_id,
             verdict.kind.value, outcome.ticket_number or "")
    return outcome


def expect_answer(ctx: Context, ticket: Ticket, until: datetime) -> None:
    """The customer's next message in the group belongs to this ticket even without appeal words (an answer
    to /wait, a low rating explained in their own words)."""
    now = ctx.clock()
    ctx.awaiting_text = {key: end for key, end in ctx.awaiting_text.items() if end > now}
    ctx.awaiting_text[(ticket.platform, ticket.chat_id, ticket.sender_user_id)] = until


def load_expected_answers(ctx: Context) -> int:
    """At start-up: the customers whose tickets wait for their answer (the expectations live in memory)."""
    with ctx.uow() as uow:
        waiting = uow.tickets.list(status="waiting_customer", limit=100_000)
    until = ctx.clock() + timedelta(days=30)
    for ticket in waiting:
        ctx.awaiting_text[(ticket.platform, ticket.chat_id, ticket.sender_user_id)] = until
    return len(waiting)


def _expected_words(incoming: Incoming, ctx: Context, now: datetime) -> bool:
    """True once for a customer asked to explain their low rating in their own words (handlers/survey.py)."""
    until = ctx.awaiting_text.pop((incoming.chat.platform, incoming.chat.chat_id, incoming.sender.user_id), None)
    return until is not None and now <= until


def _group_of(uow: UnitOfWork, incoming: Incoming, now: datetime) -> ChatGroup:
    """The group's record; a service chat has none (it is no group: notices never go there), so its risk policy
    is the station's, on an unsaved stand-in."""
    chat = incoming.chat
    if incoming.chat_type is ChatType.SERVICE:
        return ChatGroup(platform=chat.platform, chat_id=chat.chat_id, title=incoming.chat_title, created_at=now,
                         updated_at=now)
    return uow.groups.ensure(chat.platform, chat.chat_id, incoming.chat_title, now)


def _chat(incoming: Incoming, ctx: Context, now: datetime) -> Outcome:
    """Ordinary chat changes nothing but the group's record (created on its first message); in a service chat
    the customer is told how to ask, since nobody else will answer there."""
    chat = incoming.chat
    if incoming.chat_type is ChatType.SERVICE:
        with ctx.uow() as uow:
            outcome = queue(uow, Outcome(actions=[Send(chat, ctx.texts("cmd.service_hint"))]), now)
            uow.commit()
        return outcome
    key = (chat.platform, chat.chat_id, incoming.chat_title)
    if key not in ctx.known_groups:
        with ctx.uow() as uow:
            uow.groups.ensure(chat.platform, chat.chat_id, incoming.chat_title, now)
            uow.commit()
        ctx.known_groups.add(key)
    return Outcome()


def _route(uow: UnitOfWork, ctx: Context, incoming: Incoming, text: str, verdict: Classification,
           found: Extracted, group_id: int | None) -> Outcome:
    since = ctx.clock() - ctx.append_window
    chat, sender = incoming.chat, incoming.sender
    current = uow.tickets.open_for_sender(chat.platform, chat.chat_id, sender.user_id, since)
    if current is not None:
        return _append(uow, ctx, incoming, text, verdict, found, current)
    if verdict.kind is Kind.NONE:
        return Outcome()
    opened = open_ticket(uow, ctx, incoming, text, verdict, found, group_id)
    outcome = Outcome(ticket_number=opened.number, kind=verdict.kind)
    outcome.actions.append(Send(chat, opened.customer_reply, reply_to_message_id=incoming.message_id))
    if opened.manager_chat is not None:
        outcome.actions.append(Send(opened.manager_chat, opened.manager_alert, shows_numbers=True))
    return outcome


def _append(uow: UnitOfWork, ctx: Context, incoming: Incoming, text: str, verdict: Classification,
            found: Extracted, ticket: Ticket) -> Outcome:
    now = ctx.clock()
    ticket.last_customer_message_at = now
    ticket.updated_at = now
    uow.tickets.save(ticket)
    uow.tickets.log(TicketEvent(
        ticket_id=ticket.id or 0, at=now, action="appended", note=text,
        actor=f"customer:{incoming.sender.platform}:{incoming.sender.user_id}",
        data={"message_id": incoming.message_id, "kind": verdict.kind.value},
    ))
    remember_contact(uow, ticket, found)
    number = str(ticket.id)
    reply = Send(incoming.chat, ctx.texts("ticket.appended", number=number),
                 reply_to_message_id=incoming.message_id)
    outcome = Outcome(actions=[reply], ticket_number=number, kind=Kind(ticket.kind))
    if ticket.status == "waiting_customer":  # the customer answered: the clocks run again
        move(uow, ctx, ticket, "in_progress", f"customer:{incoming.sender.platform}:{incoming.sender.user_id}",
             action="customer_answered", note=text)
        ticket.due_at = first_due(uow, ticket)
        uow.tickets.save(ticket)
        manager = uow.staff.get(ticket.assignee_id) if ticket.assignee_id else None
        if manager is not None:
            outcome.actions.append(Send(ChatRef(manager.platform, manager.user_id), ctx.texts(
                "ticket.customer_answered", number=number, customer=ticket.sender_name, text=text[:300]),
                shows_numbers=True))
    log.debug("appended %s to ticket %s: %s", incoming.message_id, number, mask_text(text[:60]))
    return outcome

