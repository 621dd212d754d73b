"""Acting from the page: assign, reply and resolve a ticket; review a risk event.

Each goes through the same core function as the chat (the /assign, /reply and /resolve commands through
the router, the review buttons through handlers.buttons), acting as the signed-in staff member: the state
change, its timeline event and the customer's message are written in one transaction and queued in the
outbox exactly as from the chat. The queued messages are then handed to the service's delivery at once;
the outbox sweep is the fallback. Each form carries a random nonce used as the message id, so a form sent
twice (a double click, a reload) is carried out once.
"""

from __future__ import annotations

import re

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.app import Board, Viewer
from bot.web.texts import WebTexts
from handlers.buttons import button_pressed
from handlers.commands.base import ParsedCommand
from handlers.context import Context
from handlers.router import run_command
from handlers.types import ButtonPress, ChatRef, ChatType, Incoming, Outcome, Send, UserRef
from storage.dashboard import Dashboard
from storage.models import Staff

TICKET_VERBS = ("assign", "reply", "resolve")
RISK_VERBS = ("delete", "warn", "dismiss")
MAX_TEXT = 2000
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,43}$")


def routes(board: Board) -> list[BaseRoute]:
    return [Route("/tickets/{number:int}/{verb:str}", board.action(ticket_action), methods=["POST"]),
            Route("/risk/{number:int}/{verb:str}", board.action(risk_action), methods=["POST"])]


def run_as(ctx: Context, staff: Staff, name: str, args: str, nonce: str) -> Outcome:
    """Run a chat command as `staff` would from their private chat with the bot."""
    chat = ChatRef(staff.platform, staff.user_id)
    incoming = Incoming(chat=chat, sender=UserRef(staff.platform, staff.user_id, staff.name),
                        text=f"/{name} {args}", message_id=f"web:{nonce}", sent_at=ctx.clock(),
                        chat_type=ChatType.PRIVATE)
    return run_command(incoming, ParsedCommand(name, args), ctx)


def answers_to(staff: Staff, outcome: Outcome) -> str:
    """What the bot answered the staff member (done, or why not): shown on the page."""
    chat = ChatRef(staff.platform, staff.user_id)
    return "\n".join(a.text for a in outcome.actions if isinstance(a, Send) and a.chat == chat)


async def ticket_action(board: Board, viewer: Viewer, request: Request, form: FormData) -> Response:
    wanted, verb = int(request.path_params["number"]), request.path_params["verb"]
    nonce = str(form.get("nonce", ""))
    if verb not in TICKET_VERBS or not _NONCE.match(nonce):
        raise HTTPException(400)
    if not await board.read(lambda uow: Dashboard(uow.session).ticket_visible(viewer.scope, wanted)):
        raise HTTPException(404)
    texts, back = WebTexts(viewer.language), f"/tickets/{wanted}"
    if verb == "assign":
        target = await _assignee(board, viewer, str(form.get("staff", "")))
        if target is None:
            return board.redirect(back, texts("act.no_staff"))
        args = f"{wanted} {target.user_id}"
    else:
        text = str(form.get("text", "")).strip()[:MAX_TEXT]
        if not text:
            return board.redirect(back, texts("act.empty"))
        args = f"{wanted} {text}"
    outcome = await board.core(lambda: run_as(board.ctx, viewer.staff, verb, args, nonce))
    board.deliver(outcome.queued)
    return board.redirect(back, texts("act.duplicate") if outcome.duplicate else answers_to(viewer.staff, outcome))


async def _assignee(board: Board, viewer: Viewer, value: str) -> Staff | None:
    if not value.isdigit() or len(value) > 9:
        return None
    station = viewer.staff.station_id if viewer.staff.role != "admin" else None
    staff = await board.read(lambda uow: Dashboard(uow.session).assignable(station))
    return next((person for person in staff if person.id == int(value)), None)


async def risk_action(board: Board, viewer: Viewer, request: Request, form: FormData) -> Response:
    wanted, verb = int(request.path_params["number"]), request.path_params["verb"]
    if verb not in RISK_VERBS:
        raise HTTPException(400)
    if await board.read(lambda uow: Dashboard(uow.session).risk_event(viewer.scope, wanted)) is None:
        raise HTTPException(404)
    staff = viewer.staff
    press = ButtonPress(chat=ChatRef(staff.platform, staff.user_id),
                        user=UserRef(staff.platform, staff.user_id, staff.name),
                        data=f"risk:{wanted}:{verb}", message_id="")
    outcome = await board.core(lambda: button_pressed(press, board.ctx))
    board.deliver(outcome.queued)
    return board.redirect("/risk", outcome.notice or "")
