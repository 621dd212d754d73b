"""The queries of notices and their phases (kept apart from repositories.py, which holds the rest)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from storage.models import Area, ChatGroup, Notice, NoticePhase, OutboxMessage


class Notices:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _save(self, row: Notice | NoticePhase) -> None:
        self.session.add(row)
        self.session.flush()

    def add(self, notice: Notice) -> Notice:
        self._save(notice)
        return notice

    def save(self, notice: Notice) -> Notice:
        self._save(notice)
        return notice

    def get(self, notice_id: int) -> Notice | None:
        return self.session.get(Notice, notice_id)

    def list(self, *, active_only: bool = False, limit: int = 50) -> Sequence[Notice]:
        query = select(Notice).order_by(col(Notice.id).desc()).limit(limit)
        if active_only:
            query = query.where(Notice.status == "scheduled")
        return self.session.exec(query).all()

    def add_phase(self, phase: NoticePhase) -> NoticePhase:
        self._save(phase)
        return phase

    def save_phase(self, phase: NoticePhase) -> NoticePhase:
        self._save(phase)
        return phase

    def phase(self, phase_id: int) -> NoticePhase | None:
        return self.session.get(NoticePhase, phase_id)

    def phases(self, notice_id: int) -> Sequence[NoticePhase]:
        return self.session.exec(
            select(NoticePhase).where(NoticePhase.notice_id == notice_id).order_by(col(NoticePhase.id))
        ).all()

    def pending_phases(self) -> Sequence[NoticePhase]:
        return self.session.exec(
            select(NoticePhase).where(NoticePhase.status == "pending").order_by(col(NoticePhase.due_at))
        ).all()

    def area_ids(self, names: Sequence[str]) -> set[int]:
        if not names:
            return set()
        return {area_id for area_id in self.session.exec(select(Area.id).where(col(Area.name).in_(names))).all()
                if area_id is not None}

    def groups_reached(self, notice_id: int) -> Sequence[ChatGroup]:
        """Every group an earlier phase of the notice was written to (a change must reach them again)."""
        phase_ids = select(NoticePhase.id).where(NoticePhase.notice_id == notice_id)
        keys = self.session.exec(
            select(OutboxMessage.platform, OutboxMessage.chat_id)
            .where(col(OutboxMessage.notice_phase_id).in_(phase_ids)).distinct()
        ).all()
        if not keys:
            return []
        chats = {chat_id for _, chat_id in keys}
        return self.session.exec(select(ChatGroup).where(col(ChatGroup.chat_id).in_(chats))).all()

    def outbox_keys(self, phase_id: int) -> set[str]:
        return {key for key in self.session.exec(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.notice_phase_id == phase_id)).all() if key}

    def outbox_rows(self, phase_id: int) -> Sequence[OutboxMessage]:
        return self.session.exec(
            select(OutboxMessage).where(OutboxMessage.notice_phase_id == phase_id).order_by(col(OutboxMessage.id))
        ).all()
