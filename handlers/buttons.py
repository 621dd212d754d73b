"""Button presses. The data on a button comes back from the client and is not trusted: the presser's role
and the current state decide, so a forged or stale press is refused."""

from __future__ import annotations

import logging
import re

from handlers import survey
from handlers.context import Context
from handlers.outbox import queue
from handlers.risk import strike_consequences
from handlers.types import ButtonPress, ChatRef, Delete, Outcome, Send
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
_RISK = re.compile(r"^risk:(\d{1,12}):(delete|warn|dismiss)$")


def button_pressed(press: ButtonPress, ctx: Context) -> Outcome:
    if press.data.startswith(("rate:", "why:")):
        return survey.pressed(press, ctx)
    match = _RISK.match(press.data)
    if match is None:
        log.warning("refused unknown button %r from user %s", press.data[:64], press.user.user_id)
        return Outcome(notice=ctx.texts("button.refused"))
    with ctx.uow() as uow:
        staff = uow.staff.find(press.user.platform, press.user.user_id)
        if staff is None:
            log.warning("refused button %r from non-staff user %s", press.data, press.user.user_id)
            return Outcome(notice=ctx.texts("risk.not_staff"))
        outcome = _review(uow, ctx, int(match.group(1)), match.group(2), staff.id or 0)
        queue(uow, outcome, ctx.clock())
        uow.commit()
    return outcome


def _review(uow: UnitOfWork, ctx: Context, event_id: int, verb: str, staff_id: int) -> Outcome:
    event = uow.risk.get(event_id)
    if event is None:
        return Outcome(notice=ctx.texts("button.refused"))
    if event.action != "pending":
        return Outcome(notice=ctx.texts("risk.already"))
    chat = ChatRef(event.platform, event.chat_id)
    event.handled_by, event.handled_at = staff_id, ctx.clock()
    outcome = Outcome(notice=ctx.texts(f"risk.done_{verb}"))
    if verb == "dismiss":
        event.action = "dismissed"
    elif verb == "delete":
        event.action = "deleted"
        outcome.actions.append(Delete(chat, event.message_id))
    else:
        event.action = "warned"
        outcome.actions.append(Send(chat, ctx.texts("risk.warned", name=event.sender_name)))
    uow.risk.add(event)
    if verb != "dismiss":
        outcome.actions += strike_consequences(uow, ctx, chat, event.sender_user_id, event.sender_name)
    return outcome
