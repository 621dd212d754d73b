"""The WeCom channel's own records: the callback inbox, 群发 tasks per group, 微信客服 chats and cursors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import WecomCallback, WecomGroupMessage, WecomGroupTarget, WecomKfChat, WecomState


class WecomRecords:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- the callback inbox -------------------------------------------------------------------------
    def store_callback(self, key: str, kind: str, payload: str, now: datetime) -> WecomCallback | None:
        """Keep a verified callback; None when the same key was stored before (a retry or a repeat)."""
        row = WecomCallback(key=key[:100], kind=kind[:40], payload=payload, received_at=now)
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            return None
        return row

    def callback(self, row_id: int) -> WecomCallback | None:
        return self.session.get(WecomCallback, row_id)

    def unprocessed(self, limit: int, max_attempts: int, received_before: datetime) -> Sequence[WecomCallback]:
        return self.session.exec(
            select(WecomCallback).where(col(WecomCallback.processed_at).is_(None))
            .where(WecomCallback.attempts < max_attempts, WecomCallback.received_at < received_before)
            .order_by(col(WecomCallback.id)).limit(limit)).all()

    def processed(self, row_id: int, now: datetime) -> None:
        self.session.execute(update(WecomCallback).where(col(WecomCallback.id) == row_id)
                             .values(processed_at=now, attempts=WecomCallback.attempts + 1, error=""))

    def failed(self, row_id: int, error: str) -> None:
        self.session.execute(update(WecomCallback).where(col(WecomCallback.id) == row_id)
                             .values(attempts=WecomCallback.attempts + 1, error=error[:500]))

    # --- small state --------------------------------------------------------------------------------
    def state(self, key: str) -> str | None:
        row = self.session.get(WecomState, key)
        return row.value if row is not None else None

    def set_state(self, key: str, value: str, now: datetime) -> None:
        row = self.session.get(WecomState, key) or WecomState(key=key, updated_at=now)
        row.value, row.updated_at = value, now
        self.session.add(row)

    # --- 微信客服 chats -------------------------------------------------------------------------------
    def kf_chat(self, external_userid: str) -> WecomKfChat | None:
        return self.session.exec(select(WecomKfChat).where(WecomKfChat.external_userid == external_userid)).first()

    def kf_customer_wrote(self, external_userid: str, open_kfid: str, at: datetime) -> None:
        """A customer message opens a new reply window (48 h, 5 replies)."""
        chat = self.kf_chat(external_userid) or WecomKfChat(external_userid=external_userid, open_kfid=open_kfid,
                                                            last_customer_at=at)
        if at >= chat.last_customer_at:
            chat.open_kfid, chat.last_customer_at, chat.replies_since = open_kfid, at, 0
        self.session.add(chat)

    def kf_replied(self, external_userid: str) -> None:
        self.session.execute(update(WecomKfChat).where(col(WecomKfChat.external_userid) == external_userid)
                             .values(replies_since=WecomKfChat.replies_since + 1))

    # --- 群发 tasks -----------------------------------------------------------------------------------
    def add_group_message(self, msgid: str, sender: str, phase_id: int | None, now: datetime,
                          targets: Iterable[tuple[str, int | None]]) -> WecomGroupMessage:
        message = WecomGroupMessage(msgid=msgid, sender=sender, notice_phase_id=phase_id, created_at=now)
        self.session.add(message)
        self.session.flush()
        assert message.id is not None
        for chat_id, outbox_id in targets:
            self.session.add(WecomGroupTarget(group_message_id=message.id, chat_id=chat_id, outbox_id=outbox_id,
                                              created_at=now))
        return message

    def open_group_messages(self) -> Sequence[WecomGroupMessage]:
        return self.session.exec(select(WecomGroupMessage).where(col(WecomGroupMessage.done_at).is_(None))
                                 .order_by(col(WecomGroupMessage.id))).all()

    def targets(self, group_message_id: int) -> Sequence[WecomGroupTarget]:
        return self.session.exec(select(WecomGroupTarget).where(WecomGroupTarget.group_message_id == group_message_id)
                                 .order_by(col(WecomGroupTarget.id))).all()

    def save(self, row: WecomGroupMessage | WecomGroupTarget) -> None:
        self.session.add(row)

    def broadcasts_since(self, chat_ids: Collection[str], since: datetime) -> Counter[str]:
        """群发 tasks per group created since a time (this month's use of the group's cap)."""
        if not chat_ids:
            return Counter()
        rows = self.session.execute(
            select(WecomGroupTarget.chat_id, func.count()).where(col(WecomGroupTarget.chat_id).in_(list(chat_ids)))
            .where(WecomGroupTarget.created_at >= since, WecomGroupTarget.status != "over_quota")
            .group_by(col(WecomGroupTarget.chat_id))).all()
        return Counter({chat_id: count for chat_id, count in rows})

    def phase_states(self, phase_ids: Collection[int]) -> dict[int, Counter[str]]:
        """Per notice phase, how many WeCom groups are waiting for their owner, sent, over quota or failed."""
        if not phase_ids:
            return {}
        rows = self.session.execute(
            select(WecomGroupMessage.notice_phase_id, WecomGroupTarget.status, func.count())
            .join(WecomGroupTarget, col(WecomGroupTarget.group_message_id) == col(WecomGroupMessage.id))
            .where(col(WecomGroupMessage.notice_phase_id).in_(list(phase_ids)))
            .group_by(col(WecomGroupMessage.notice_phase_id), col(WecomGroupTarget.status))).all()
        states: dict[int, Counter[str]] = {}
        for phase_id, status, count in rows:
            states.setdefault(phase_id, Counter())[status] += count
        return states
