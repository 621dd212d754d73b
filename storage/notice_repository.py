"""The queries of notices, their phases and their subscriptions (kept apart from repositories.py, which holds
the rest)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import or_
from sqlmodel import Session, col, select

from storage.models import Area, ChatGroup, Customer, Notice, NoticePhase, OutboxMessage, Subscription


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


class Subscriptions:
    """Customers' subscriptions to notices (供电信息订阅); only those not cancelled are ever sent to."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def save(self, subscription: Subscription) -> Subscription:
        self.session.add(subscription)
        self.session.flush()
        return subscription

    def find(self, platform: str, user_id: str, *, area_id: int | None = None,
             account_no: str | None = None) -> Subscription | None:
        """The user's row for one target, cancelled or not (subscribing again brings it back)."""
        query = select(Subscription).where(Subscription.platform == platform, Subscription.user_id == user_id)
        if area_id is not None:
            query = query.where(Subscription.area_id == area_id)
        else:
            query = query.where(Subscription.account_no == account_no)
        return self.session.exec(query).first()

    def of_user(self, platform: str, user_id: str) -> Sequence[Subscription]:
        return self.session.exec(
            select(Subscription).where(Subscription.platform == platform, Subscription.user_id == user_id,
                                       col(Subscription.cancelled_at).is_(None)).order_by(col(Subscription.id))
        ).all()

    def for_areas(self, area_ids: Collection[int]) -> Sequence[Subscription]:
        """Active subscriptions to these areas, and to 户号 whose customer record lies in one of them."""
        if not area_ids:
            return []
        accounts = select(Customer.account_no).where(col(Customer.area_id).in_(area_ids),
                                                     col(Customer.deleted_at).is_(None),
                                                     col(Customer.account_no).is_not(None))
        return self.session.exec(
            select(Subscription).where(
                col(Subscription.cancelled_at).is_(None),
                or_(col(Subscription.area_id).in_(area_ids), col(Subscription.account_no).in_(accounts)))
            .order_by(col(Subscription.id))
        ).all()

    def area_names(self, ids: Collection[int]) -> dict[int, str]:
        if not ids:
            return {}
        return {area.id: area.name for area in self.session.exec(select(Area).where(col(Area.id).in_(ids))).all()
                if area.id is not None}

    def active(self) -> Sequence[Subscription]:
        """Every active subscription (a station-wide announcement is for every area)."""
        return self.session.exec(
            select(Subscription).where(col(Subscription.cancelled_at).is_(None)).order_by(col(Subscription.id))
        ).all()

    def by_ids(self, ids: Collection[int]) -> Sequence[Subscription]:
        if not ids:
            return []
        return self.session.exec(
            select(Subscription).where(col(Subscription.id).in_(ids), col(Subscription.cancelled_at).is_(None))
            .order_by(col(Subscription.id))
        ).all()

    def reached(self, notice_id: int) -> set[int]:
        """The subscriptions an earlier phase of the notice was written to, from the rows' keys
        ("notice:<phase>:sub:<subscription>"): a change must reach them again."""
        phase_ids = select(NoticePhase.id).where(NoticePhase.notice_id == notice_id)
        keys = self.session.exec(
            select(OutboxMessage.dedupe_key).where(col(OutboxMessage.notice_phase_id).in_(phase_ids),
                                                   col(OutboxMessage.dedupe_key).like("notice:%:sub:%"))
        ).all()
        return {int(tail) for key in keys if key and (tail := key.rpartition(":sub:")[2]).isdigit()}
