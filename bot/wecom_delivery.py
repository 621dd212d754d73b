"""The WeCom edge, sending: the outbox's WeCom rows, carried out the ways WeCom allows.

- staff (a userid): message/send, a text or, with buttons, a button_interaction card; at most
  `member_per_minute` (30) per member, the rest waits its turn in that member's queue. Digests can go to an
  internal group robot instead (once per digest, not once per supervisor).
- 微信客服 chats (`kf:<external_userid>`): kf/send_msg within 48 hours of the customer's last message and at
  most 5 replies; buttons become a menu message. Outside the window the row fails with that reason.
- customer groups: the app cannot post. A notice phase's rows become 群发 tasks (add_msg_template,
  chat_type=group), one per owner and text, up to 2000 groups each, within the admin's monthly cap per group;
  the owners confirm them in their WeCom app, are reminded if they have not, and what WeCom reports per group
  is read back into the notice's report. Any other message for a group (a ticket's reply) goes to the group's
  owner as a task to pass on.

A row is marked sent once WeCom accepted it (for a 群发: once the task exists). Busy, rate-limited or
network failures leave it pending for the next sweep; a configuration error too (nothing is dropped while
the settings are wrong); a refusal for this message alone marks it failed with WeCom's errcode.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any

from bot.metrics import SEND_ERRORS
from bot.outbox_claims import Claims
from bot.telegram_sender import ChatOrderedSender
from bot.wecom_calls import Verdict, WecomCalls, WecomError
from bot.wecom_groups import KF_PREFIX, PLATFORM
from bot.workers import DatabaseWorkers
from config.settings import WecomSettings
from handlers.channels import WECOM
from handlers.context import Context
from handlers.types import Queued
from storage.models import OutboxMessage, WecomGroupMessage
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
KF_WINDOW, KF_REPLIES = timedelta(hours=48), 5
TEXT_BYTES = 2000  # message/send and kf/send_msg take 2048 bytes of text
READ_BACK_EVERY = timedelta(seconds=60)
READ_BACK_FOR = timedelta(days=3)  # an owner who has not confirmed in three days will not


def clip(text: str, limit: int = TEXT_BYTES) -> str:
    data = text.encode()
    return text if len(data) <= limit else data[:limit - 3].decode(errors="ignore") + "…"


class MemberLimiter:
    """At most `per_minute` sends to one key in any 60 s (WeCom counts per member per app)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._sent: dict[str, deque[float]] = defaultdict(deque)

    async def wait(self, key: str) -> None:
        sent = self._sent[key]
        while True:
            now = time.monotonic()
            while sent and now - sent[0] >= 60:
                sent.popleft()
            if len(sent) < self.per_minute:
                sent.append(now)
                return
            await asyncio.sleep(60 - (now - sent[0]) + 0.01)


@dataclass
class Item:
    """An outbox row with what sending it needs to know about its chat."""

    row: OutboxMessage
    route: str  # staff | kf | group_notice | group_reply | unsupported
    owner: str | None = None
    title: str = ""
    kf: tuple[str, datetime, int] | None = None  # open_kfid, customer's last message, replies since


@dataclass
class Broadcast:
    phase_id: int | None
    owner: str
    text: str
    items: list[Item] = field(default_factory=list)


class WecomDelivery:
    def __init__(self, core: Context, calls: WecomCalls, settings: WecomSettings, workers: DatabaseWorkers,
                 api: DatabaseWorkers, claims: Claims | None = None) -> None:
        self.core, self.calls, self.settings, self.workers, self.api = core, calls, settings, workers, api
        self.claims = claims or Claims()
        self.members = MemberLimiter(settings.member_per_minute)
        self.robot_limiter = MemberLimiter(settings.robot_per_minute)
        self.sender = ChatOrderedSender()
        self._in_hand: set[int] = set()
        self._dispatching = asyncio.Lock()
        self._robot_posting = asyncio.Lock()
        self._kick: asyncio.Task[int] | None = None
        self._closed = False

    # --- entry points ---------------------------------------------------------------------------
    def execute(self, queued: Sequence[Queued]) -> None:
        """The core wrote rows: send what is pending for WeCom now (the rows are read back from the outbox,
        where the notice phase and key of each are)."""
        if any(item.action.chat.platform == PLATFORM for item in queued):
            self.kick()

    def kick(self) -> None:
        if self._closed or (self._kick is not None and not self._kick.done()):
            return
        self._kick = asyncio.create_task(self._kicked(), name="wecom-dispatch")

    async def _kicked(self) -> int:
        try:
            return await self.dispatch()
        except Exception:
            log.exception("wecom: dispatch failed; the sweep tries again")
            return 0

    async def dispatch(self, min_age: float = 0.0) -> int:
        """Claim the pending WeCom rows and carry them out; how many were claimed."""
        if self._closed:
            return 0
        async with self._dispatching:
            before = datetime.now(UTC) - timedelta(seconds=min_age)
            items = await self.workers.run(self._claim_and_plan, before)
            broadcasts: dict[tuple[int | None, str, str], Broadcast] = {}
            for item in items:
                self._in_hand.add(item.row.id or 0)
                if item.route == "group_notice" and item.owner:
                    key = (item.row.notice_phase_id, item.owner, item.row.text)
                    broadcasts.setdefault(key, Broadcast(*key)).items.append(item)
                else:
                    self.sender.submit(item.row.chat_id, functools.partial(self._one, item))
            for broadcast in broadcasts.values():
                await self._broadcast(broadcast)
            return len(items)

    async def drain(self) -> None:
        if self._kick is not None:
            with contextlib.suppress(Exception):
                await self._kick
        await self.sender.drain()

    def close(self) -> None:
        self._closed = True

    async def notify(self, userid: str, text: str) -> None:
        """A short answer to a staff member's button press (not an outbox message: nothing to resend)."""
        try:
            await self.members.wait(userid)
            await self.api.run(self.calls.send_text, userid, clip(text))
        except WecomError as exc:
            log.warning("wecom: could not answer %s's button press: %s", userid, exc)

    # --- planning (database workers) -------------------------------------------------------------
    def _claim_and_plan(self, before: datetime) -> list[Item]:
        now = datetime.now(UTC)
        with self.core.uow() as uow:
            rows = uow.outbox.claim(PLATFORM, self.claims.owner, now + self.claims.lease, now,
                                    self.claims.window if self.claims.shared else 1000, created_before=before,
                                    exclude=list(self._in_hand), ignore_leases=not self.claims.shared)
            uow.commit()
            return [self._plan(uow, row) for row in rows]

    @staticmethod
    def _plan(uow: UnitOfWork, row: OutboxMessage) -> Item:
        if row.action != "send":
            return Item(row, "unsupported")
        if row.chat_id.startswith(KF_PREFIX):
            chat = uow.wecom.kf_chat(row.chat_id.removeprefix(KF_PREFIX))
            return Item(row, "kf", kf=(chat.open_kfid, chat.last_customer_at, chat.replies_since) if chat else None)
        group = uow.groups.find(PLATFORM, row.chat_id)
        if group is None:
            return Item(row, "staff")
        route = "group_notice" if row.notice_phase_id is not None else "group_reply"
        return Item(row, route, owner=group.owner_user_id, title=group.title or group.chat_id)

    # --- carrying out -----------------------------------------------------------------------------
    async def _one(self, item: Item) -> None:
        row = item.row
        try:
            if item.route == "unsupported":
                raise WecomError(None, f"{row.action} is not possible in WeCom customer groups", Verdict.GIVE_UP)
            if item.route == "kf":
                await self._kf(item)
            elif item.route == "staff":
                await self._staff(row)
            else:
                await self._owner_task(item)
            await self._mark(row.id or 0, None)
        except WecomError as exc:
            await self._failed(row, exc)
        finally:
            self._in_hand.discard(row.id or 0)

    async def _staff(self, row: OutboxMessage) -> None:
        robot = self.settings.robot_webhook_url
        if robot is not None and (row.dedupe_key or "").startswith("digest:"):
            await self._robot(row, robot.get_secret_value())
            return
        await self.members.wait(row.chat_id)
        if row.buttons:
            title, _, rest = row.text.partition("\n")
            buttons = [(b["text"], b["data"]) for line in row.buttons for b in line]
            await self.api.run(self.calls.send_buttons, row.chat_id, title, rest or title, f"gb{row.id}", buttons)
        else:
            await self.api.run(self.calls.send_text, row.chat_id, clip(row.text))

    async def _robot(self, row: OutboxMessage, url: str) -> None:
        """A digest goes to the supervisors' internal group once, however many supervisors it was queued for."""
        key = "robot:" + ":".join((row.dedupe_key or "").split(":")[:3])
        async with self._robot_posting:  # the supervisors' rows go out in parallel: one of them posts
            if await self.workers.run(self._state, key):
                return
            await self.robot_limiter.wait("robot")
            await self.api.run(self.calls.robot, url, clip(row.text, 4000))
            await self.workers.run(self._set_state, key, datetime.now(UTC).isoformat())

    async def _kf(self, item: Item) -> None:
        row, customer = item.row, item.row.chat_id.removeprefix(KF_PREFIX)
        if item.kf is None:
            raise WecomError(None, "no 微信客服 chat with this customer", Verdict.GIVE_UP)
        open_kfid, last, replies = item.kf
        if datetime.now(UTC) - last > KF_WINDOW or replies >= KF_REPLIES:
            raise WecomError(95001, "微信客服 reply window closed (48 h after the customer's last message, "
                                    "5 replies)", Verdict.GIVE_UP)
        menu = [(b["text"], b["data"]) for line in row.buttons for b in line] or None
        await self.api.run(self.calls.kf_send, customer, open_kfid, clip(row.text), menu)
        await self.workers.run(self._kf_replied, customer)

    async def _owner_task(self, item: Item) -> None:
        if not item.owner:
            raise WecomError(None, "the group's owner is unknown (not reconciled yet?)", Verdict.GIVE_UP)
        text = self.core.texts("wecom.owner_task", group=item.title, text=item.row.text)
        await self.members.wait(item.owner)
        await self.api.run(self.calls.send_text, item.owner, clip(text))

    async def _broadcast(self, broadcast: Broadcast) -> None:
        allowed, over = await self.workers.run(self._within_cap, broadcast.items)
        for item in over:
            await self._mark(item.row.id or 0, f"over_quota: the group's {self.settings.group_broadcasts_per_month} "
                                               "群发 this month are used")
            self._in_hand.discard(item.row.id or 0)
        rest = iter(allowed)
        while chunk := list(islice(rest, WECOM.groups_per_broadcast)):
            try:
                msgid, refused = await self.api.run(self.calls.add_group_template, broadcast.owner,
                                                    [i.row.chat_id for i in chunk], clip(broadcast.text))
                await self.workers.run(self._record_broadcast, msgid, broadcast, chunk, set(refused))
            except WecomError as exc:
                for item in chunk:
                    await self._failed(item.row, exc)
            finally:
                self._in_hand.difference_update(i.row.id or 0 for i in chunk)

    def _within_cap(self, items: list[Item]) -> tuple[list[Item], list[Item]]:
        cap = self.settings.group_broadcasts_per_month
        if not cap:
            return items, []
        local = datetime.now(self.core.tz)
        month_start = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)
        with self.core.uow() as uow:
            used = uow.wecom.broadcasts_since([i.row.chat_id for i in items], month_start)
        return [i for i in items if used[i.row.chat_id] < cap], [i for i in items if used[i.row.chat_id] >= cap]

    def _record_broadcast(self, msgid: str, broadcast: Broadcast, chunk: list[Item], refused: set[str]) -> None:
        now = datetime.now(UTC)
        with self.core.uow() as uow:
            message = uow.wecom.add_group_message(msgid, broadcast.owner, broadcast.phase_id, now,
                                                  [(i.row.chat_id, i.row.id) for i in chunk])
            for target in uow.wecom.targets(message.id or 0):
                if target.chat_id in refused:
                    target.status = "failed"
                    uow.wecom.save(target)
            for item in chunk:
                if item.row.chat_id in refused:
                    uow.outbox.mark_failed(item.row.id or 0, now, "refused by add_msg_template")
                else:
                    uow.outbox.mark_sent(item.row.id or 0, now)
            uow.commit()
        log.info("wecom: 群发 %s for %s into %d groups (%d refused)", msgid, broadcast.owner, len(chunk), len(refused))

    # --- follow-up of 群发 tasks (the sweep) ----------------------------------------------------------
    async def follow_up(self) -> None:
        """Read back what each owner did with their 群发 tasks; remind them once if they have not confirmed."""
        open_ones = await self.workers.run(self._open_messages)
        now = datetime.now(UTC)
        for message_id, msgid, sender, created, reminded, checked in open_ones:
            if checked is not None and now - checked < READ_BACK_EVERY:
                continue
            try:
                results = await self.api.run(self.calls.send_results, msgid, sender)
                waiting = await self.workers.run(self._apply_results, message_id, results, now)
                due = now - created >= timedelta(minutes=self.settings.remind_after_minutes)
                if waiting and reminded is None and due:
                    await self.api.run(self.calls.remind, msgid)
                    await self.workers.run(self._reminded, message_id, now)
                    log.info("wecom: reminded %s of 群发 %s (%d groups waiting)", sender, msgid, waiting)
            except WecomError as exc:
                log.warning("wecom: could not follow up 群发 %s: %s", msgid, exc)

    def _open_messages(self) -> list[tuple[int, str, str, datetime, datetime | None, datetime | None]]:
        with self.core.uow() as uow:
            return [(m.id or 0, m.msgid, m.sender, m.created_at, m.reminded_at, m.checked_at)
                    for m in uow.wecom.open_group_messages()]

    def _apply_results(self, message_id: int, results: list[dict[str, Any]], now: datetime) -> int:
        """Update each group's state from WeCom's report; how many still wait for the owner."""
        by_chat = {str(r.get("chat_id")): r for r in results}
        states = {1: "sent", 2: "failed", 3: "over_quota"}
        with self.core.uow() as uow:
            waiting = 0
            for target in uow.wecom.targets(message_id):
                result = by_chat.get(target.chat_id)
                status = states.get(int(result.get("status", 0))) if result else None
                if target.status == "waiting" and status is not None:
                    target.status = status
                    if status == "sent" and result and result.get("send_time"):
                        target.sent_at = datetime.fromtimestamp(int(result["send_time"]), UTC)
                    uow.wecom.save(target)
                waiting += target.status == "waiting"
            message = uow.session.get(WecomGroupMessage, message_id)
            if message is not None:
                message.checked_at = now
                if not waiting or now - message.created_at > READ_BACK_FOR:
                    message.done_at = now
                uow.wecom.save(message)
            uow.commit()
            return waiting

    def _reminded(self, message_id: int, now: datetime) -> None:
        with self.core.uow() as uow:
            message = uow.session.get(WecomGroupMessage, message_id)
            if message is not None:
                message.reminded_at = now
                uow.wecom.save(message)
                uow.commit()

    # --- bookkeeping --------------------------------------------------------------------------------
    async def _failed(self, row: OutboxMessage, exc: WecomError) -> None:
        if exc.verdict is Verdict.GIVE_UP:
            SEND_ERRORS.labels(PLATFORM, "given_up").inc()
            log.error("wecom: gave up outbox %s for %s: %s", row.id, row.chat_id, exc)
            await self._mark(row.id or 0, str(exc))
        else:  # retry, or the settings are wrong: keep the row for the sweep
            SEND_ERRORS.labels(PLATFORM, "left_to_sweep").inc()
            log.warning("wecom: will retry outbox %s for %s: %s", row.id, row.chat_id, exc)

    async def _mark(self, row_id: int, error: str | None) -> None:
        def write() -> None:
            with self.core.uow() as uow:
                now = datetime.now(UTC)
                if error is None:
                    uow.outbox.mark_sent(row_id, now)
                else:
                    uow.outbox.mark_failed(row_id, now, error)
                uow.commit()

        await self.workers.run(write)

    def _kf_replied(self, customer: str) -> None:
        with self.core.uow() as uow:
            uow.wecom.kf_replied(customer)
            uow.commit()

    def _state(self, key: str) -> str | None:
        with self.core.uow() as uow:
            return uow.wecom.state(key)

    def _set_state(self, key: str, value: str) -> None:
        with self.core.uow() as uow:
            uow.wecom.set_state(key, value, datetime.now(UTC))
            uow.commit()

