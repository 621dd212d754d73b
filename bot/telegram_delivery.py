"""Carrying out the core's queued actions through the Bot API, and marking them in the outbox.

Each outbox row is sent by one task at a time (chats in parallel, each chat in order). A sent row is
marked sent; a permanent refusal (kicked, chat gone, bad request) marks it failed; a transient failure
(network, 429 past the limiter's retries) leaves it pending for the next sweep. A row being sent when
the process dies is sent again after the restart: a rare duplicate in a group is better than a lost reply.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from telegram import Bot, ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import telegram_convert as convert
from bot.telegram_sender import ChatOrderedSender
from bot.workers import DatabaseWorkers
from handlers import router
from handlers.context import Context
from handlers.outbox import pending
from handlers.privacy import mask_text
from handlers.types import Action, BotMembership, ChatRef, Delete, Queued, Restrict, Send
from handlers.types import ChatMigrated as Migrated

log = logging.getLogger(__name__)
TRANSIENT = (RetryAfter, NetworkError)  # TimedOut is a NetworkError


class TelegramDelivery:
    def __init__(self, bot: Bot, core: Context, workers: DatabaseWorkers) -> None:
        self.bot, self.core, self.workers = bot, core, workers
        self.sender = ChatOrderedSender()
        self._in_hand: set[int] = set()  # outbox ids queued or being sent by this process

    def execute(self, queued: Sequence[Queued]) -> None:
        """Queue the actions; the update that caused them is already finished."""
        for item in queued:
            if item.outbox_id not in self._in_hand:
                self._in_hand.add(item.outbox_id)
                self.sender.submit(item.action.chat.chat_id, functools.partial(self._deliver, item))

    async def resume(self, min_age: float = 0.0) -> int:
        """Send what is still pending in the outbox (left by a crash, or by a transient failure).

        The periodic sweep passes a min_age, so it never races the handler that has just written a row.
        """
        before = datetime.now(UTC) - timedelta(seconds=min_age)
        rows = await self.workers.run(self._pending, before)
        self.execute(rows)
        return len(rows)

    def _pending(self, created_before: datetime) -> list[Queued]:
        with self.core.uow() as uow:
            return pending(uow, convert.PLATFORM, created_before)

    async def _deliver(self, item: Queued) -> None:
        try:
            await self._carry_out(item.action)
            await self._mark(item.outbox_id, None)
        except ChatMigrated as exc:
            await self._follow_migration(item, exc.new_chat_id)
        except Forbidden as exc:
            await self._mark(item.outbox_id, str(exc))
            await self._lost_chat(item.action.chat, str(exc))
        except BadRequest as exc:  # PTB's BadRequest is a NetworkError, but it is permanent
            log.error("could not send outbox %s to chat %s: %s", item.outbox_id, item.action.chat.chat_id, exc)
            await self._mark(item.outbox_id, str(exc))
        except TRANSIENT as exc:
            log.warning("will retry outbox %s for chat %s: %s", item.outbox_id, item.action.chat.chat_id, exc)
        except TelegramError as exc:
            log.error("could not send outbox %s to chat %s: %s", item.outbox_id, item.action.chat.chat_id, exc)
            await self._mark(item.outbox_id, str(exc))
        finally:
            self._in_hand.discard(item.outbox_id)

    async def _mark(self, outbox_id: int, error: str | None) -> None:
        def write() -> None:
            with self.core.uow() as uow:
                now = datetime.now(UTC)
                if error is None:
                    uow.outbox.mark_sent(outbox_id, now)
                else:
                    uow.outbox.mark_failed(outbox_id, now, error)
                uow.commit()

        await self.workers.run(write)

    async def _carry_out(self, action: Action) -> None:
        chat_id = int(action.chat.chat_id)
        if isinstance(action, Delete):
            with contextlib.suppress(BadRequest):  # already gone (deleted by a person, or too old)
                await self.bot.delete_message(chat_id, int(action.message_id))
            return
        if isinstance(action, Restrict):
            await self.bot.restrict_chat_member(chat_id, int(action.user_id), ChatPermissions.no_permissions(),
                                                until_date=action.until)
            return
        markup = None
        if action.buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(b.text, callback_data=b.data) for b in row]
                                           for row in action.buttons])
        reply = None
        if action.reply_to_message_id and action.reply_to_message_id.isdigit():
            reply = ReplyParameters(int(action.reply_to_message_id), allow_sending_without_reply=True)
        try:
            await self.bot.send_message(chat_id, action.text, reply_parameters=reply, reply_markup=markup)
        except BadRequest as exc:
            if "chat not found" in str(exc).lower():
                raise Forbidden(str(exc)) from exc
            raise
        log.debug("sent to %s: %s", action.chat.chat_id, mask_text(action.text[:80]))

    async def _follow_migration(self, item: Queued, new_chat_id: int) -> None:
        """The group became a supergroup: move its records (and pending outbox rows), then send there."""
        new = convert.chat_ref(new_chat_id)
        await self.workers.run(router.chat_migrated, Migrated(item.action.chat, new), self.core)
        if isinstance(item.action, Send):  # the old message ids do not carry over
            moved = Send(new, item.action.text, None, item.action.buttons)
            await self._deliver(Queued(item.outbox_id, moved))

    async def _lost_chat(self, chat: ChatRef, reason: str) -> None:
        """Kicked from a group (or a user who never started the bot): stop treating it as reachable."""
        log.warning("chat %s unreachable: %s", chat.chat_id, reason)
        if chat.chat_id.startswith("-"):
            gone = BotMembership(chat, False, datetime.now(UTC))
            await self.workers.run(router.bot_membership, gone, self.core)
