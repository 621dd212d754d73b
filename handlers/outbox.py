"""Actions into and out of the outbox table.

The core stores every action it decides on in the same transaction as the change behind it, so a
reply is never lost between "ticket stored" and "reply sent": whatever is still pending when the
process dies is sent when it starts again.
"""

from __future__ import annotations

from datetime import datetime

from handlers.privacy import mask_text
from handlers.types import Action, Button, ChatRef, Delete, Outcome, Queued, Restrict, Send
from storage.models import OutboxMessage
from storage.uow import UnitOfWork


def to_row(action: Action, now: datetime) -> OutboxMessage:
    if isinstance(action, Restrict):
        return OutboxMessage(platform=action.chat.platform, chat_id=action.chat.chat_id, action="restrict",
                             user_id=action.user_id, until=action.until, created_at=now)
    if isinstance(action, Delete):
        return OutboxMessage(platform=action.chat.platform, chat_id=action.chat.chat_id, action="delete",
                             message_id=action.message_id, created_at=now)
    buttons = [[{"text": b.text, "data": b.data} for b in row] for row in action.buttons]
    text = action.text if action.shows_numbers else mask_text(action.text)  # the one place that masks
    return OutboxMessage(platform=action.chat.platform, chat_id=action.chat.chat_id, text=text,
                         reply_to_message_id=action.reply_to_message_id, buttons=buttons, photo=action.photo,
                         created_at=now)


def from_row(row: OutboxMessage) -> Action:
    chat = ChatRef(row.platform, row.chat_id)
    if row.action == "delete":
        return Delete(chat, row.message_id or "")
    if row.action == "restrict" and row.until is not None:
        return Restrict(chat, row.user_id or "", row.until)
    buttons = tuple(tuple(Button(b["text"], b["data"]) for b in line) for line in row.buttons)
    return Send(chat, row.text, row.reply_to_message_id, buttons, shows_numbers=True,  # masked when queued
                photo=row.photo)


def queue(uow: UnitOfWork, outcome: Outcome, now: datetime) -> Outcome:
    """Store the outcome's actions in the outbox (caller commits); returns the outcome with their ids.

    The actions are replaced by what was stored (numbers masked), so what is sent is what was recorded.
    """
    stored = [uow.outbox.add(to_row(action, now)) for action in outcome.actions]
    outcome.actions = [from_row(row) for row in stored]
    outcome.queued = [Queued(row.id or 0, action) for row, action in zip(stored, outcome.actions, strict=True)]
    return outcome


def pending(uow: UnitOfWork, platform: str, created_before: datetime | None = None,
            limit: int = 1000) -> list[Queued]:
    rows = uow.outbox.pending(platform, created_before, limit)
    return [Queued(row.id or 0, from_row(row)) for row in rows]
