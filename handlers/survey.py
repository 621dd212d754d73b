"""The satisfaction survey (回访): asked once per resolution, in the customer's group, with buttons.

Pressing a score asks for an explicit confirmation; 4–5 (满意) and 3 (基本满意) close the ticket,
1–2 (不满意) reopen it to the same manager and ask why. Only the customer who raised the ticket can
answer; a forged, stale or foreign press is refused. Nobody answering within the configured time
closes the ticket as "no rating". The rated manager and station are copied when the rating lands.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from handlers.appeals import expect_answer
from handlers.context import Context
from handlers.lifecycle import IllegalTransition, move, note
from handlers.outbox import queue
from handlers.types import Action, Button, ButtonPress, ChatRef, Outcome, Send
from storage.models import Survey, Ticket
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
PATTERN = re.compile(r"(?:rate:(\d{1,12}):([1-5])(:ok)?|why:(\d{1,12}):(not_fixed|slow|attitude|other))", re.ASCII)
SCORES = (5, 4, 3, 2, 1)
REASONS = ("not_fixed", "slow", "attitude", "other")


def grade(score: int) -> str:
    """满意 (4–5) / 基本满意 (3) / 不满意 (1–2): the three shares the station reports."""
    return "satisfied" if score >= 4 else "fair" if score == 3 else "dissatisfied"


def ask(uow: UnitOfWork, ctx: Context, ticket: Ticket) -> Send:
    """Start a survey round for a resolved ticket and return the question with its score buttons."""
    previous = uow.surveys.latest(ticket.id or 0)
    if previous is not None and previous.status == "asked":  # never answered, now replaced: it closes nothing
        previous.status = "superseded"
        uow.surveys.save(previous)
    uow.surveys.add(Survey(ticket_id=ticket.id or 0, round=previous.round + 1 if previous else 1,
                           platform=ticket.platform, chat_id=ticket.chat_id,
                           customer_user_id=ticket.sender_user_id, asked_at=ctx.clock()))
    # One score per row: big targets for elderly customers on small phones.
    buttons = tuple((Button(ctx.texts(f"survey.score_{score}"), f"rate:{ticket.id}:{score}"),) for score in SCORES)
    return Send(ChatRef(ticket.platform, ticket.chat_id),
                ctx.texts("survey.ask", name=ticket.sender_name, number=ticket.id),
                reply_to_message_id=ticket.source_message_id, buttons=buttons)


def pressed(press: ButtonPress, ctx: Context) -> Outcome:
    match = PATTERN.fullmatch(press.data)
    if match is None:
        return Outcome(notice=ctx.texts("button.refused"))
    with ctx.uow() as uow:
        number = int(match.group(1) or match.group(4))
        ticket = uow.tickets.get(number)
        survey = uow.surveys.latest(number)
        refusal = _refusal(ctx, press, ticket, survey)
        if refusal is not None:
            log.warning("refused survey press %r from user %s: %s", press.data, press.user.user_id, refusal)
            return Outcome(notice=refusal)
        assert ticket is not None and survey is not None
        if match.group(5):
            outcome = _reason(uow, ctx, ticket, survey, match.group(5))
        elif match.group(3):
            outcome = _confirm(uow, ctx, ticket, survey, int(match.group(2)))
        else:
            outcome = _chosen(ctx, ticket, survey, int(match.group(2)))
        queue(uow, outcome, ctx.clock())
        uow.commit()
    return outcome


def expire(ctx: Context) -> Outcome:
    """Close the tickets whose survey nobody answered in time, as "no rating" (run by the scheduler)."""
    now = ctx.clock()
    closed = 0
    with ctx.uow() as uow:
        for survey in uow.surveys.unanswered_before(now - ctx.survey_timeout):
            survey.status, survey.answered_at = "no_rating", now
            uow.surveys.save(survey)
            ticket = uow.tickets.get(survey.ticket_id)
            if ticket is not None and ticket.status == "resolved":
                move(uow, ctx, ticket, "closed", "system", note="no_rating", data={"rating": None})
                closed += 1
        uow.commit()
    if closed:
        log.info("closed %d resolved tickets without a rating", closed)
    return Outcome()


def _refusal(ctx: Context, press: ButtonPress, ticket: Ticket | None, survey: Survey | None) -> str | None:
    if ticket is None or survey is None:
        return ctx.texts("button.refused")
    if (press.user.platform, press.user.user_id) != (survey.platform, survey.customer_user_id):
        return ctx.texts("survey.not_yours")
    wants_reason = press.data.startswith("why:")
    expected = "awaiting_reason" if wants_reason else "asked"
    if survey.status != expected:
        return ctx.texts("survey.already")
    return None


def _chosen(ctx: Context, ticket: Ticket, survey: Survey, score: int) -> Outcome:
    """The first press only proposes a score: the customer confirms it with a second, explicit press."""
    confirm = ((Button(ctx.texts("survey.confirm", score=score), f"rate:{ticket.id}:{score}:ok"),),)
    text = ctx.texts("survey.confirm_question", score=score, grade=ctx.texts(f"survey.grade_{grade(score)}"))
    return Outcome(actions=[Send(ChatRef(survey.platform, survey.chat_id), text, buttons=confirm)],
                   notice=ctx.texts("survey.chosen", score=score))


def _confirm(uow: UnitOfWork, ctx: Context, ticket: Ticket, survey: Survey, score: int) -> Outcome:
    now = ctx.clock()
    survey.score, survey.answered_at = score, now
    survey.staff_id, survey.station_id = ticket.assignee_id, ticket.station_id  # frozen at rating time
    chat = ChatRef(survey.platform, survey.chat_id)
    actor = f"customer:{survey.platform}:{survey.customer_user_id}"
    data = {"rating": score, "round": survey.round}
    outcome = Outcome(notice=ctx.texts("survey.thanks_short"))
    note(uow, ctx, ticket, actor, "rated", f"{score}", data)
    # A manager may have reopened the ticket meanwhile: the rating stands, the ticket stays as it is.
    if score >= 3:
        survey.status = "rated"
        _move_if_allowed(uow, ctx, ticket, "closed", actor, data=data)
        outcome.actions.append(Send(chat, ctx.texts("survey.thanks", score=score)))
    else:
        survey.status = "awaiting_reason"
        _move_if_allowed(uow, ctx, ticket, "reopened", actor, note=ctx.texts("survey.reopen_note", score=score),
                         data=data)
        outcome.actions += _reopened(uow, ctx, ticket, score, chat, now)
    uow.surveys.save(survey)
    return outcome


def _move_if_allowed(uow: UnitOfWork, ctx: Context, ticket: Ticket, target: str, actor: str, *, note: str = "",
                     data: dict[str, Any]) -> None:
    try:
        move(uow, ctx, ticket, target, actor, note=note, data=data)
    except IllegalTransition:
        log.info("ticket %s stays %s after its rating", ticket.id, ticket.status)


def _reopened(uow: UnitOfWork, ctx: Context, ticket: Ticket, score: int, chat: ChatRef,
              now: datetime) -> list[Action]:
    reasons = tuple((Button(ctx.texts(f"survey.reason_{code}"), f"why:{ticket.id}:{code}"),) for code in REASONS)
    actions: list[Action] = [Send(chat, ctx.texts("survey.ask_reason", number=ticket.id), buttons=reasons)]
    manager = uow.staff.get(ticket.assignee_id) if ticket.assignee_id else None
    if manager is not None:
        actions.append(Send(ChatRef(manager.platform, manager.user_id), ctx.texts(
            "survey.reopened_manager", number=ticket.id, score=score, customer=ticket.sender_name,
            text=ticket.text[:200]), shows_numbers=True))
    return actions


def _reason(uow: UnitOfWork, ctx: Context, ticket: Ticket, survey: Survey, code: str) -> Outcome:
    label = ctx.texts(f"survey.reason_{code}")
    survey.reason, survey.status = label, "rated"
    uow.surveys.save(survey)
    note(uow, ctx, ticket, f"customer:{survey.platform}:{survey.customer_user_id}", "reason", label,
         {"reason": code})
    chat = ChatRef(survey.platform, survey.chat_id)
    key = "survey.reason_other_reply" if code == "other" else "survey.reason_thanks"
    if code == "other":  # their next words in the group join the ticket, whatever they are
        now = ctx.clock()
        ticket.last_customer_message_at = now
        uow.tickets.save(ticket)
        expect_answer(ctx, ticket, now + ctx.append_window)
    outcome = Outcome(actions=[Send(chat, ctx.texts(key, number=ticket.id))], notice=ctx.texts("survey.thanks_short"))
    manager = uow.staff.get(ticket.assignee_id) if ticket.assignee_id else None
    if manager is not None:
        outcome.actions.append(Send(ChatRef(manager.platform, manager.user_id), ctx.texts(
            "survey.reason_manager", number=ticket.id, reason=label), shows_numbers=True))
    return outcome
