"""Carrying out the core's queued actions through the Bot API, and marking them in the outbox.

Each outbox row is sent by one task at a time (chats in parallel, each chat in order). A sent row is
marked sent; a permanent refusal (kicked, chat gone, bad request) marks it failed; a transient failure
(network, 429 past the limiter's retries) leaves it pending for the next sweep. A row being sent when
the process dies is sent again after the restart: a rare duplicate in a group is better than a lost reply.

Several dispatchers may share one PostgreSQL outbox (webhook receivers behind a load balancer): each row is
claimed for a lease before it is sent (storage.repositories.Outbox.claim, FOR UPDATE SKIP LOCKED), so two
dispatchers never send the same row. The sweeps claim what is pending in batches of `Claims.window`, and
claim the next batch once half of the last is sent, so one busy dispatcher does not hoard the backlog; rows
a handler of this process just wrote are claimed at once, before they are sent. Leases of rows still queued
here (behind a rate limit, say) are renewed at every sweep; a row whose lease ran short is claimed again
before it goes out. A dispatcher that dies leaves its claims to expire: another sends those rows a lease
later. SQLite has one process: its sweeps take every pending row whoever claimed it last (a dead earlier run).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta

from telegram import Bot, ChatPermissions, InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import telegram_convert as convert
from bot.metrics import SEND_ERRORS
from bot.outbox_claims import Claims
from bot.telegram_sender import ChatOrderedSender
from bot.workers import DatabaseWorkers
from handlers import router
from handlers.context import Context
from handlers.outbox import from_row
from handlers.privacy import mask_text
from handlers.types import Action, BotMembership, ChatRef, Delete, Queued, Restrict, Send
from handlers.types import ChatMigrated as Migrated

log = logging.getLogger(__name__)
TRANSIENT = (RetryAfter, NetworkError)  # TimedOut is a NetworkError
RETRY_BACKOFF = (0.5, 1.0, 2.0)  # seconds before the 2nd, 3rd and 4th try of a transient failure


class TelegramDelivery:
    def __init__(self, bot: Bot, core: Context, workers: DatabaseWorkers, claims: Claims | None = None) -> None:
        self.bot, self.core, self.workers = bot, core, workers
        self.claims = claims or Claims()
        self.sender = ChatOrderedSender()
        self._in_hand: set[int] = set()  # outbox ids queued or being sent by this process
        self._leases: dict[int, datetime] = {}  # in hand and claimed: until when
        self._claiming = asyncio.Lock()  # one sweep claim at a time in this process
        self._more: float | None = None  # the last sweep claimed a full batch: its min_age, for the next one
        self._refill: asyncio.Task[int] | None = None
        self._closed = False

    @property
    def window(self) -> int:
        return self.claims.window if self.claims.shared else 1000

    def execute(self, queued: Sequence[Queued]) -> None:
        """Queue the actions; the update that caused them is already finished.

        With other dispatchers about, the rows are claimed first (one statement for the batch); each send
        waits for that claim and skips a row another dispatcher holds. The sends are queued right away all
        the same, so each chat keeps its order."""
        fresh = [item for item in queued  # other platforms' rows are their channels' (never claimed here)
                 if item.outbox_id not in self._in_hand and item.action.chat.platform == convert.PLATFORM]
        if not fresh:
            return
        claim: asyncio.Task[set[int]] | None = None
        if self.claims.shared:
            claim = asyncio.ensure_future(self._claim_ids([item.outbox_id for item in fresh]))
        self._submit(fresh, claim)

    def _submit(self, items: Sequence[Queued], claim: asyncio.Task[set[int]] | None) -> None:
        for item in items:
            if item.outbox_id not in self._in_hand:
                self._in_hand.add(item.outbox_id)
                self.sender.submit(item.action.chat.chat_id, functools.partial(self._deliver, item, claim))

    async def resume(self, min_age: float = 0.0) -> int:
        """Claim and send what is pending in the outbox (left by a crash, a transient failure, or a dispatcher
        that died); how many rows were claimed.

        The periodic sweep passes a min_age, so it never races the handler that has just written a row.
        """
        if self._closed:
            return 0
        async with self._claiming:
            if self.claims.shared and self._leases:
                ids = list(self._leases)
                renewed_until = await self.workers.run(self._renew, ids)
                self._leases.update((row_id, renewed_until) for row_id in ids if row_id in self._leases)
            room = self.window - len(self._in_hand)
            if room <= 0:
                self._more = min_age
                return 0
            before = datetime.now(UTC) - timedelta(seconds=min_age)
            rows, lease_until = await self.workers.run(self._claim, before, room, list(self._in_hand))
            if self.claims.shared:
                self._leases.update((item.outbox_id, lease_until) for item in rows)
            self._more = min_age if len(rows) == room else None
            self._submit(rows, None)
            return len(rows)

    def stop_claiming(self) -> None:
        """A graceful stop begins: send what is in hand, claim nothing more."""
        self._closed = True
        if self._refill is not None:
            self._refill.cancel()

    async def release(self) -> None:
        """A graceful stop: give back the claims not sent, so another dispatcher need not wait for their lease."""
        self.stop_claiming()
        if self.claims.shared:
            with contextlib.suppress(Exception):  # the database may be gone; then the leases run out
                await self.workers.run(self._release)

    # The database work runs on the workers; what it returns is applied to _leases on the event loop.
    def _claim(self, created_before: datetime, limit: int, in_hand: Collection[int]) -> tuple[list[Queued], datetime]:
        now = datetime.now(UTC)
        lease_until = now + self.claims.lease
        with self.core.uow() as uow:
            rows = uow.outbox.claim(convert.PLATFORM, self.claims.owner, lease_until, now, limit,
                                    created_before=created_before, exclude=in_hand,
                                    ignore_leases=not self.claims.shared)
            uow.commit()
        return [Queued(row.id or 0, from_row(row)) for row in rows], lease_until

    async def _claim_ids(self, ids: Collection[int]) -> set[int]:
        def claim() -> tuple[set[int], datetime]:
            now = datetime.now(UTC)
            lease_until = now + self.claims.lease
            with self.core.uow() as uow:
                claimed = uow.outbox.claim_ids(ids, self.claims.owner, lease_until, now)
                uow.commit()
            return claimed, lease_until

        claimed, lease_until = await self.workers.run(claim)
        self._leases.update((row_id, lease_until) for row_id in claimed if row_id in self._in_hand)
        return claimed

    def _renew(self, ids: Collection[int]) -> datetime:
        lease_until = datetime.now(UTC) + self.claims.lease
        with self.core.uow() as uow:
            uow.outbox.renew(ids, self.claims.owner, lease_until)
            uow.commit()
        return lease_until

    def _release(self) -> None:
        with self.core.uow() as uow:
            uow.outbox.release(self.claims.owner)
            uow.commit()

    async def _may_send(self, item: Queued, claim: asyncio.Task[set[int]] | None) -> bool:
        """Whether this process holds the row now (always, on a single-process database)."""
        if not self.claims.shared:
            return True
        if claim is not None:
            try:
                if item.outbox_id not in await claim:
                    return False  # another dispatcher has it
            except Exception as exc:  # unknown: leave the row to a sweep rather than risk sending it twice
                log.warning("could not claim outbox %s: %s", item.outbox_id, exc)
                return False
        lease = self._leases.get(item.outbox_id)
        if lease is not None and lease - datetime.now(UTC) > self.claims.renew_before:
            return True
        try:  # queued here longer than the renewals covered: make sure nobody took it over meanwhile
            return item.outbox_id in await self._claim_ids([item.outbox_id])
        except Exception as exc:
            log.warning("could not renew the claim on outbox %s: %s", item.outbox_id, exc)
            return False

    async def _deliver(self, item: Queued, claim: asyncio.Task[set[int]] | None = None) -> None:
        try:
            if not await self._may_send(item, claim):
                return
            await self._carry_out_with_retries(item)
            await self._mark(item.outbox_id, None)
        except ChatMigrated as exc:
            await self._follow_migration(item, exc.new_chat_id)
        except Forbidden as exc:
            SEND_ERRORS.labels(convert.PLATFORM, "given_up").inc()
            await self._mark(item.outbox_id, str(exc))
            await self._lost_chat(item.action.chat, str(exc))
        except BadRequest as exc:  # PTB's BadRequest is a NetworkError, but it is permanent
            SEND_ERRORS.labels(convert.PLATFORM, "given_up").inc()
            log.error("could not send outbox %s to chat %s: %s", item.outbox_id, item.action.chat.chat_id, exc)
            await self._mark(item.outbox_id, str(exc))
        except TRANSIENT as exc:
            SEND_ERRORS.labels(convert.PLATFORM, "left_to_sweep").inc()
            log.warning("will retry outbox %s for chat %s: %s", item.outbox_id, item.action.chat.chat_id, exc)
        except TelegramError as exc:
            SEND_ERRORS.labels(convert.PLATFORM, "given_up").inc()
            log.error("could not send outbox %s to chat %s: %s", item.outbox_id, item.action.chat.chat_id, exc)
            await self._mark(item.outbox_id, str(exc))
        finally:
            self._in_hand.discard(item.outbox_id)
            self._leases.pop(item.outbox_id, None)
            self._top_up()

    def _top_up(self) -> None:
        """The last sweep left rows behind and half its batch is sent: claim the next batch now."""
        min_age = self._more
        if min_age is None or self._closed or len(self._in_hand) > self.window // 2:
            return
        if self._refill is not None and not self._refill.done():
            return
        self._more = None
        self._refill = asyncio.create_task(self._top_up_now(min_age), name="telegram-outbox-refill")

    async def _top_up_now(self, min_age: float) -> int:
        try:
            return await self.resume(min_age)
        except Exception:  # the periodic sweep tries again
            log.exception("outbox refill failed")
            return 0

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

    async def _carry_out_with_retries(self, item: Queued) -> None:
        """A 5xx or a 429 that outlived the limiter's own retries is tried again here, after a backoff, rather
        than waiting for the next outbox sweep (30 s); only this chat waits. Still failing: left to the sweep."""
        for attempt, backoff in enumerate((*RETRY_BACKOFF, None)):
            try:
                await self._carry_out(item.action)
                return
            except BadRequest:  # permanent, though PTB makes it a NetworkError
                raise
            except TRANSIENT as exc:
                if backoff is None:
                    raise
                SEND_ERRORS.labels(convert.PLATFORM, "retried").inc()
                wait = float(exc.retry_after.total_seconds() if isinstance(exc.retry_after, timedelta)
                             else exc.retry_after) if isinstance(exc, RetryAfter) else backoff
                log.info("outbox %s: %s, try %d again in %.1fs", item.outbox_id, exc, attempt + 2, wait)
                await asyncio.sleep(wait)

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
            if action.photo is not None:
                await self.bot.send_photo(chat_id, action.photo, caption=action.text or None,
                                          reply_parameters=reply, reply_markup=markup)
            else:
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
            moved = Send(new, item.action.text, None, item.action.buttons, photo=item.action.photo)
            await self._deliver(Queued(item.outbox_id, moved))

    async def _lost_chat(self, chat: ChatRef, reason: str) -> None:
        """Kicked from a group (or a user who never started the bot): stop treating it as reachable."""
        log.warning("chat %s unreachable: %s", chat.chat_id, reason)
        if chat.chat_id.startswith("-"):
            gone = BotMembership(chat, False, datetime.now(UTC))
            await self.workers.run(router.bot_membership, gone, self.core)
