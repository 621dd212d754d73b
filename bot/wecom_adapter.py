"""The WeCom edge, receiving: stored callbacks and archive records become the core's events.

One consumer handles the inbox rows in order (group events stay ordered, the kf cursor is advanced by one
reader). What a row needs from WeCom (groupchat/get, kf/sync_msg) is fetched on the API threads, what it
changes is written on the database workers, and the actions the core queued go to the delivery. A row that
fails is retried by the sweep, up to `MAX_ATTEMPTS`; it stays in the inbox with its error after that.

- app text from a staff member (1:1): a command or a message, in their private chat `ChatRef("wecom", userid)`;
- template_card_event: a button press on a card we sent to staff;
- change_external_chat: the group is fetched again and applied (bot/wecom_groups.py);
- kf_msg_or_event: the new 微信客服 messages are pulled with kf/sync_msg; a customer's text is an appeal in the
  private chat `ChatRef("wecom", "kf:<external_userid>")`, a menu click is a button press;
- archive: a decrypted 会话内容存档 record of a customer group, classified and risk-checked like a Telegram
  group message (the replies go to the group's owner as tasks, see bot/wecom_delivery.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot import wecom_groups
from bot.logs import log_context
from bot.wecom_callback import parse_xml
from bot.wecom_calls import WecomCalls
from bot.workers import DatabaseWorkers
from handlers import router
from handlers.context import Context
from handlers.types import ButtonPress, ChatRef, ChatType, Incoming, Outcome, Queued, UserRef

log = logging.getLogger(__name__)
PLATFORM, KF_PREFIX = wecom_groups.PLATFORM, wecom_groups.KF_PREFIX
MAX_ATTEMPTS = 5
Deliver = Callable[[list[Queued]], None]


class WecomAdapter:
    def __init__(self, core: Context, calls: WecomCalls, workers: DatabaseWorkers, api: DatabaseWorkers,
                 deliver: Deliver, notify: Callable[[str, str], Awaitable[None]]) -> None:
        self.core, self.calls, self.workers, self.api = core, calls, workers, api
        self.deliver, self.notify = deliver, notify
        self._queue: asyncio.Queue[int] = asyncio.Queue()
        self._queued: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self.handled = 0

    # --- the inbox consumer ----------------------------------------------------------------------
    def submit(self, row_id: int) -> None:
        if row_id not in self._queued:
            self._queued.add(row_id)
            self._queue.put_nowait(row_id)

    def start(self) -> None:
        self._task = asyncio.create_task(self._consume(), name="wecom-inbox")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def resume(self, min_age: float = 0.0) -> int:
        """Queue the rows a crash or a failure left unprocessed."""
        before = datetime.now(UTC) - timedelta(seconds=min_age)

        def pending() -> list[int]:
            with self.core.uow() as uow:
                return [row.id for row in uow.wecom.unprocessed(500, MAX_ATTEMPTS, before) if row.id is not None]

        ids = await self.workers.run(pending)
        for row_id in ids:
            self.submit(row_id)
        return len(ids)

    async def idle(self) -> None:
        """Wait until every queued row is handled (tests, demo)."""
        while self._queued:
            await asyncio.sleep(0.01)

    async def _consume(self) -> None:
        while True:
            row_id = await self._queue.get()
            try:
                await self._process(row_id)
            except Exception:  # never let one row stop the consumer; the row keeps its error
                log.exception("wecom: callback %s failed", row_id)
            finally:
                self._queued.discard(row_id)

    async def _process(self, row_id: int) -> None:
        def load() -> tuple[str, str] | None:
            with self.core.uow() as uow:
                row = uow.wecom.callback(row_id)
                return None if row is None or row.processed_at is not None else (row.kind, row.payload)

        loaded = await self.workers.run(load)
        if loaded is None:
            return
        kind, payload = loaded
        try:
            with log_context(wecom=row_id):
                await self._dispatch(kind, payload)
        except Exception as exc:
            await self.workers.run(self._mark, row_id, f"{exc.__class__.__name__}: {exc}")
            raise
        await self.workers.run(self._mark, row_id, None)
        self.handled += 1

    def _mark(self, row_id: int, error: str | None) -> None:
        with self.core.uow() as uow:
            if error is None:
                uow.wecom.processed(row_id, datetime.now(UTC))
            else:
                uow.wecom.failed(row_id, error)
            uow.commit()

    async def _dispatch(self, kind: str, payload: str) -> None:
        if kind == "archive":
            await self._archived(json.loads(payload))
            return
        fields = parse_xml(payload)
        if kind == "text":
            await self._staff_text(fields)
        elif kind == "template_card_event":
            press = ButtonPress(ChatRef(PLATFORM, fields["FromUserName"]), UserRef(PLATFORM, fields["FromUserName"]),
                                str(fields.get("EventKey", "")), str(fields.get("TaskId", "")))
            await self._press(press)
        elif kind == "change_external_chat":
            await self._group_event(fields)
        elif kind == "kf_msg_or_event":
            await self._kf_pull(str(fields.get("Token", "")), str(fields.get("OpenKfId", "")))
        else:
            log.debug("wecom: %s callback ignored", kind)

    # --- what each kind does ----------------------------------------------------------------------
    async def _run_core(self, call: Callable[[], Outcome]) -> Outcome:
        outcome = await self.workers.run(call)
        self.deliver(outcome.queued)
        return outcome

    async def _staff_text(self, fields: dict[str, Any]) -> None:
        user = str(fields["FromUserName"])
        incoming = Incoming(ChatRef(PLATFORM, user), UserRef(PLATFORM, user), str(fields.get("Content", "")),
                            str(fields["MsgId"]), wecom_groups.when(fields.get("CreateTime")), ChatType.PRIVATE)
        await self._run_core(lambda: router.handle(incoming, self.core))

    async def _press(self, press: ButtonPress) -> None:
        outcome = await self._run_core(lambda: router.button_pressed(press, self.core))
        if outcome.notice:  # Telegram shows this as a toast; here it is a short message back
            await self.notify(press.chat.chat_id, outcome.notice)

    async def _group_event(self, fields: dict[str, Any]) -> None:
        chat_id, now = str(fields["ChatId"]), datetime.now(UTC)
        if fields.get("ChangeType") == "dismiss":
            await self._run_core(lambda: wecom_groups.group_gone(self.core, chat_id, now))
            return
        await self.refresh_group(chat_id)

    async def refresh_group(self, chat_id: str) -> None:
        info = await self.api.run(self.calls.group_chat, chat_id)
        now = datetime.now(UTC)
        if info is None:
            await self._run_core(lambda: wecom_groups.group_gone(self.core, chat_id, now))
            return
        for outcome in await self.workers.run(wecom_groups.apply_group, self.core, info, now):
            self.deliver(outcome.queued)

    async def reconcile(self) -> tuple[int, int]:
        """Every group WeCom lists, fetched and applied; ours it no longer lists marked gone."""
        listed = await self.api.run(self.calls.group_chat_ids)
        for chat_id in listed:
            await self.refresh_group(chat_id)
        gone = await self.workers.run(wecom_groups.missing_groups, self.core, listed)
        now = datetime.now(UTC)
        for chat_id in gone:
            await self._run_core(functools.partial(wecom_groups.group_gone, self.core, chat_id, now))
        log.info("wecom: reconciled %d groups, %d gone", len(listed), len(gone))
        return len(listed), len(gone)

    async def _kf_pull(self, token: str, open_kfid: str) -> None:
        key = f"kf_cursor:{open_kfid}"

        def cursor() -> str:
            with self.core.uow() as uow:
                return uow.wecom.state(key) or ""

        position = await self.workers.run(cursor)
        while True:
            batch = await self.api.run(self.calls.kf_sync, token, open_kfid, position)
            for message in batch.messages:
                await self._kf_message(message)
            position = batch.next_cursor or position
            await self.workers.run(self._save_state, key, position)
            if not batch.has_more:
                return

    def _save_state(self, key: str, value: str) -> None:
        with self.core.uow() as uow:
            uow.wecom.set_state(key, value, datetime.now(UTC))
            uow.commit()

    async def _kf_message(self, message: dict[str, Any]) -> None:
        if message.get("origin") != 3 or message.get("msgtype") != "text":
            return  # staff replies, system events, pictures: nothing to classify
        customer, open_kfid = str(message["external_userid"]), str(message["open_kfid"])
        chat, user = ChatRef(PLATFORM, KF_PREFIX + customer), UserRef(PLATFORM, customer)
        at = wecom_groups.when(message.get("send_time"))

        def seen() -> None:
            with self.core.uow() as uow:
                uow.wecom.kf_customer_wrote(customer, open_kfid, at)
                uow.commit()

        await self.workers.run(seen)
        text = message.get("text") or {}
        if text.get("menu_id"):  # a click in a menu message we sent (e.g. the satisfaction survey)
            await self._press(ButtonPress(chat, user, str(text["menu_id"]), str(message["msgid"])))
            return
        incoming = Incoming(chat, user, str(text.get("content", "")), str(message["msgid"])[:64], at, ChatType.SERVICE)
        await self._run_core(lambda: router.handle(incoming, self.core))

    async def _archived(self, record: dict[str, Any]) -> None:
        """A customer-group message from 会话内容存档 (decrypted by the archive reader, outside gridbot)."""
        room, sender = str(record.get("roomid") or ""), str(record.get("from") or "")
        if not room or not sender or record.get("msgtype") != "text" or record.get("action", "send") != "send":
            return  # 1:1 chats, recalls, pictures: not ours to classify

        def title_and_name() -> tuple[str, str]:
            with self.core.uow() as uow:
                group = uow.groups.find(PLATFORM, room)
                if group is None or group.id is None:
                    return "", sender
                member = uow.groups.open_membership(group.id, sender)
                return group.title, (member.display_name if member and member.display_name else sender)

        title, name = await self.workers.run(title_and_name)
        sent = datetime.fromtimestamp(int(record.get("msgtime", 0)) / 1000, UTC) if record.get("msgtime") else \
            datetime.now(UTC)
        incoming = Incoming(ChatRef(PLATFORM, room), UserRef(PLATFORM, sender, name),
                            str((record.get("text") or {}).get("content", "")), str(record["msgid"])[:64], sent,
                            ChatType.GROUP, title)
        await self._run_core(lambda: router.handle(incoming, self.core))
