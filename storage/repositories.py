"""The queries: the only place that builds SQL. Each repository works inside a unit of work."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import (
    Area,
    ChatGroup,
    Customer,
    FailedUpdate,
    GroupMember,
    InboundMessage,
    OutboxMessage,
    RiskEvent,
    Staff,
    Station,
    Survey,
    Ticket,
    TicketAlert,
    TicketClock,
    TicketEvent,
)

T = TypeVar("T")


OPEN_STATUSES = ("new", "accepted", "in_progress", "waiting_customer", "reopened")
# Open and running: a ticket waiting for the customer has its clocks stopped.
RUNNING_STATUSES = ("new", "accepted", "in_progress", "reopened")


class _Repo:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _save(self, row: T) -> T:
        self.session.add(row)
        self.session.flush()
        return row


class Stations(_Repo):
    def get_or_create(self, name: str) -> Station:
        found = self.session.exec(select(Station).where(Station.name == name)).first()
        return found or self._save(Station(name=name))

    def area(self, station_id: int, name: str, area_type: str | None = None) -> Area:
        found = self.session.exec(
            select(Area).where(Area.station_id == station_id, Area.name == name)
        ).first()
        if found is None:
            return self._save(Area(station_id=station_id, name=name, area_type=area_type or "rural"))
        if area_type and found.area_type != area_type:
            found.area_type = area_type
            self._save(found)
        return found

    def area_by_id(self, area_id: int) -> Area | None:
        return self.session.get(Area, area_id)

    def by_name(self, name: str) -> Station | None:
        return self.session.exec(select(Station).where(Station.name == name)).first()

    def names(self, ids: Collection[int]) -> dict[int, str]:
        if not ids:
            return {}
        return {row.id or 0: row.name for row in self.session.exec(select(Station).where(col(Station.id).in_(ids)))}

    def area_ids_of(self, station_ids: Collection[int]) -> set[int]:
        if not station_ids:
            return set()
        return {area_id for area_id in self.session.exec(
            select(Area.id).where(col(Area.station_id).in_(station_ids))) if area_id is not None}


class Staffs(_Repo):
    def find(self, platform: str, user_id: str) -> Staff | None:
        return self.session.exec(
            select(Staff).where(Staff.platform == platform, Staff.user_id == user_id, Staff.active)
        ).first()

    def get(self, staff_id: int) -> Staff | None:
        return self.session.get(Staff, staff_id)

    def upsert(self, staff: Staff) -> Staff:
        existing = self.session.exec(
            select(Staff).where(Staff.platform == staff.platform, Staff.user_id == staff.user_id)
        ).first()
        if existing is None:
            return self._save(staff)
        for field in ("name", "role", "grade", "station_id"):
            setattr(existing, field, getattr(staff, field))
        existing.active = True
        return self._save(existing)

    def all(self) -> Sequence[Staff]:
        return self.session.exec(select(Staff).order_by(col(Staff.id))).all()

    def save(self, staff: Staff) -> Staff:
        return self._save(staff)

    def on_duty(self, station_id: int | None) -> Sequence[Staff]:
        """Grid managers who can take a ticket, the one assigned longest ago (or never) first."""
        query = select(Staff).where(Staff.role == "grid_manager", Staff.active, col(Staff.away).is_(False))
        if station_id is not None:
            query = query.where(or_(col(Staff.station_id) == station_id, col(Staff.station_id).is_(None)))
        return self.session.exec(
            query.order_by(col(Staff.last_assigned_at).is_not(None), col(Staff.last_assigned_at), col(Staff.id))
        ).all()

    def with_role(self, role: str, station_id: int | None = None) -> Sequence[Staff]:
        query = select(Staff).where(Staff.role == role, Staff.active)
        if station_id is not None:
            query = query.where(or_(col(Staff.station_id) == station_id, col(Staff.station_id).is_(None)))
        return self.session.exec(query.order_by(col(Staff.id))).all()


class Groups(_Repo):
    def find(self, platform: str, chat_id: str) -> ChatGroup | None:
        return self.session.exec(
            select(ChatGroup).where(ChatGroup.platform == platform, ChatGroup.chat_id == chat_id)
        ).first()

    def get(self, group_id: int) -> ChatGroup | None:
        return self.session.get(ChatGroup, group_id)

    def ensure(self, platform: str, chat_id: str, title: str, now: datetime) -> ChatGroup:
        group = self.find(platform, chat_id)
        if group is None:
            return self._save(ChatGroup(platform=platform, chat_id=chat_id, title=title,
                                        created_at=now, updated_at=now))
        if title and group.title != title:
            group.title, group.updated_at = title, now
            self._save(group)
        return group

    def save(self, group: ChatGroup) -> ChatGroup:
        return self._save(group)

    def all(self) -> Sequence[ChatGroup]:
        return self.session.exec(select(ChatGroup).order_by(col(ChatGroup.id))).all()

    def migrate(self, platform: str, old_chat_id: str, new_chat_id: str, now: datetime) -> None:
        """A group got a new chat id (Telegram supergroup upgrade): keep one row and its history."""
        old_group, new_group = self.find(platform, old_chat_id), self.find(platform, new_chat_id)
        if old_group is None:
            return
        if new_group is not None:  # messages already arrived under the new id: fold that row in
            self.session.execute(update(Ticket).where(col(Ticket.group_id) == new_group.id)
                                 .values(group_id=old_group.id))
            self.session.execute(update(GroupMember).where(col(GroupMember.group_id) == new_group.id)
                                 .values(group_id=old_group.id))
            self.session.delete(new_group)
            self.session.flush()
        self.session.execute(
            update(Ticket).where(col(Ticket.platform) == platform, col(Ticket.chat_id) == old_chat_id)
            .values(chat_id=new_chat_id)
        )
        old_group.chat_id, old_group.updated_at = new_chat_id, now
        self._save(old_group)
        Outbox(self.session).move_chat(platform, old_chat_id, new_chat_id)

    def open_membership(self, group_id: int, user_id: str) -> GroupMember | None:
        return self.session.exec(
            select(GroupMember)
            .where(GroupMember.group_id == group_id, GroupMember.user_id == user_id)
            .where(col(GroupMember.left_at).is_(None))
            .order_by(col(GroupMember.id).desc())
        ).first()

    def add_member(self, member: GroupMember) -> GroupMember:
        return self._save(member)

    def members(self, group_id: int) -> Sequence[GroupMember]:
        return self.session.exec(
            select(GroupMember).where(GroupMember.group_id == group_id).order_by(col(GroupMember.id))
        ).all()


class Customers(_Repo):
    def by_chat_account(self, platform: str, user_id: str) -> Customer | None:
        return self.session.exec(
            select(Customer).where(Customer.platform == platform, Customer.user_id == user_id)
        ).first()

    def by_account_no(self, account_no: str) -> Customer | None:
        return self.session.exec(select(Customer).where(Customer.account_no == account_no)).first()

    def get(self, customer_id: int) -> Customer | None:
        return self.session.get(Customer, customer_id)

    def save(self, customer: Customer) -> Customer:
        return self._save(customer)


class Tickets(_Repo):
    def add(self, ticket: Ticket) -> Ticket:
        return self._save(ticket)

    def save(self, ticket: Ticket) -> Ticket:
        return self._save(ticket)

    def get(self, number: int) -> Ticket | None:
        return self.session.get(Ticket, number)

    def open_for_sender(self, platform: str, chat_id: str, user_id: str, since: datetime) -> Ticket | None:
        return self.session.exec(
            select(Ticket)
            .where(Ticket.platform == platform, Ticket.chat_id == chat_id, Ticket.sender_user_id == user_id)
            .where(col(Ticket.status).in_(OPEN_STATUSES))
            # A ticket waiting for the customer's answer takes it whenever it comes.
            .where(or_(col(Ticket.last_customer_message_at) >= since, col(Ticket.status) == "waiting_customer"))
            .order_by(col(Ticket.id).desc())
        ).first()

    def list(
        self, *, status: str | None = None, assignee_id: int | None = None, group_id: int | None = None,
        sender: tuple[str, str] | None = None, open_only: bool = False, limit: int = 200,
    ) -> Sequence[Ticket]:
        query = select(Ticket).order_by(col(Ticket.id).desc()).limit(limit)
        if status:
            query = query.where(Ticket.status == status)
        if open_only:
            query = query.where(col(Ticket.status).in_(OPEN_STATUSES))
        if assignee_id is not None:
            query = query.where(Ticket.assignee_id == assignee_id)
        if group_id is not None:
            query = query.where(Ticket.group_id == group_id)
        if sender is not None:
            query = query.where(Ticket.platform == sender[0], Ticket.sender_user_id == sender[1])
        return self.session.exec(query).all()

    def count(self) -> int:
        return int(self.session.exec(select(func.count()).select_from(Ticket)).one())

    def add_clock(self, clock: TicketClock) -> TicketClock:
        return self._save(clock)

    def save_clock(self, clock: TicketClock) -> TicketClock:
        return self._save(clock)

    def children(self, parent_id: int) -> Sequence[Ticket]:
        return self.session.exec(
            select(Ticket).where(Ticket.parent_id == parent_id).order_by(col(Ticket.id))
        ).all()

    def fault_parent(self, area_id: int, kind: str, since: datetime) -> Ticket | None:
        """The open ticket a new report of the same fault belongs under: same area and kind, recent."""
        return self.session.exec(
            select(Ticket)
            .where(Ticket.area_id == area_id, Ticket.kind == kind, col(Ticket.parent_id).is_(None))
            .where(col(Ticket.status).in_(OPEN_STATUSES), Ticket.opened_at >= since)
            .order_by(col(Ticket.id))
        ).first()

    def running_clocks(self) -> Sequence[tuple[TicketClock, Ticket]]:
        """Unmet, escalating clocks of tickets that are open and not waiting for the customer."""
        rows = self.session.exec(
            select(TicketClock, Ticket).join(Ticket, col(Ticket.id) == TicketClock.ticket_id)
            .where(col(TicketClock.met_at).is_(None), col(TicketClock.escalate).is_(True))
            .where(col(Ticket.status).in_(RUNNING_STATUSES))
            .order_by(col(TicketClock.due_at))
        ).all()
        return [(clock, ticket) for clock, ticket in rows]

    def escalate_at_once(self) -> Sequence[Ticket]:
        """Open tickets that go to the county at once: important customers, 特殊/重大 complaints."""
        return self.session.exec(
            select(Ticket).where(col(Ticket.status).in_(OPEN_STATUSES))
            .where(col(Ticket.important).is_(True) | col(Ticket.level).in_(("特殊", "重大")))
            .order_by(col(Ticket.id))
        ).all()

    def clocks(self, ticket_id: int) -> Sequence[TicketClock]:
        return self.session.exec(
            select(TicketClock).where(TicketClock.ticket_id == ticket_id).order_by(col(TicketClock.id))
        ).all()

    def log(self, event: TicketEvent) -> TicketEvent:
        return self._save(event)

    def events(self, ticket_id: int) -> Sequence[TicketEvent]:
        return self.session.exec(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(col(TicketEvent.id))
        ).all()


class Inbound(_Repo):
    def claim(self, row: InboundMessage) -> InboundMessage:
        """Insert the idempotency row; raises IntegrityError when the message was handled before."""
        return self._save(row)

    def find(self, platform: str, chat_id: str, message_id: str) -> InboundMessage | None:
        return self.session.exec(
            select(InboundMessage).where(
                InboundMessage.platform == platform,
                InboundMessage.chat_id == chat_id,
                InboundMessage.message_id == message_id,
            )
        ).first()

    def count(self) -> int:
        return int(self.session.exec(select(func.count()).select_from(InboundMessage)).one())


class FailedUpdates(_Repo):
    def add(self, row: FailedUpdate) -> FailedUpdate:
        return self._save(row)

    def mark_replayed(self, row_id: int, now: datetime) -> None:
        row = self.session.get(FailedUpdate, row_id)
        if row is not None:
            row.replayed_at = now
            self._save(row)

    def pending(self) -> Sequence[FailedUpdate]:
        return self.session.exec(
            select(FailedUpdate).where(col(FailedUpdate.replayed_at).is_(None)).order_by(col(FailedUpdate.id))
        ).all()


class Outbox(_Repo):
    def add(self, row: OutboxMessage) -> OutboxMessage:
        return self._save(row)

    def pending(self, platform: str, created_before: datetime | None = None,
                limit: int = 1000) -> Sequence[OutboxMessage]:
        query = select(OutboxMessage).where(OutboxMessage.platform == platform)
        if created_before is not None:
            query = query.where(OutboxMessage.created_at < created_before)
        return self.session.exec(
            query
            .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None))
            .order_by(col(OutboxMessage.id)).limit(limit)
        ).all()

    def mark_sent(self, row_id: int, now: datetime) -> None:
        self.session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == row_id)
                             .values(sent_at=now, attempts=OutboxMessage.attempts + 1))

    def mark_failed(self, row_id: int, now: datetime, error: str) -> None:
        self.session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == row_id)
                             .values(failed_at=now, error=error[:500], attempts=OutboxMessage.attempts + 1))

    def claim(self, platform: str, owner: str, lease_until: datetime, now: datetime, limit: int = 100, *,
              created_before: datetime | None = None, exclude: Collection[int] = (),
              ignore_leases: bool = False) -> Sequence[OutboxMessage]:
        """Claim pending rows for `owner` until `lease_until` and return them (caller commits).

        A row is free when nobody claimed it, its lease ran out, or `owner` holds it already (a send that
        failed transiently is retried by its own dispatcher). FOR UPDATE SKIP LOCKED makes a concurrent
        claimer on PostgreSQL pass over the rows being claimed here instead of waiting for them, so two
        dispatchers always get disjoint rows; SQLite ignores it (one writer at a time anyway).
        `ignore_leases` is for a single-process database, where any other owner is an earlier, dead run.
        """
        query = self._pending_rows(platform)
        if not ignore_leases:
            query = query.where(self._claimable(owner, now))
        if created_before is not None:
            query = query.where(OutboxMessage.created_at < created_before)
        if exclude:
            query = query.where(col(OutboxMessage.id).not_in(list(exclude)))
        rows = self.session.exec(
            query.order_by(col(OutboxMessage.id)).limit(limit).with_for_update(skip_locked=True)
        ).all()
        self._set_claim([row.id for row in rows if row.id is not None], owner, lease_until)
        return rows

    def claim_ids(self, ids: Collection[int], owner: str, lease_until: datetime, now: datetime) -> set[int]:
        """Claim these rows (just written by this process) unless another owner holds them; the ids claimed."""
        if not ids:
            return set()
        query = (select(OutboxMessage.id)
                 .where(col(OutboxMessage.id).in_(list(ids)))
                 .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None))
                 .where(self._claimable(owner, now)))
        claimed = {row_id for row_id in self.session.exec(query.with_for_update(skip_locked=True)).all()
                   if row_id is not None}
        self._set_claim(claimed, owner, lease_until)
        return claimed

    def renew(self, ids: Collection[int], owner: str, lease_until: datetime) -> int:
        """Extend the lease of rows `owner` still holds (queued behind a rate limit, say); how many."""
        if not ids:
            return 0
        result = self.session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id).in_(list(ids)), col(OutboxMessage.claimed_by) == owner)
            .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None))
            .values(claimed_until=lease_until)
            .execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)

    def release(self, owner: str) -> int:
        """Give back what `owner` claimed and did not send (a graceful stop): others need not wait for the lease."""
        result = self.session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.claimed_by) == owner)
            .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None))
            .values(claimed_by=None, claimed_until=None)
            .execution_options(synchronize_session=False))
        return int(getattr(result, "rowcount", 0) or 0)

    @staticmethod
    def _pending_rows(platform: str) -> SelectOfScalar[OutboxMessage]:
        return (select(OutboxMessage).where(OutboxMessage.platform == platform)
                .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.failed_at).is_(None)))

    @staticmethod
    def _claimable(owner: str, now: datetime) -> ColumnElement[bool]:
        return or_(col(OutboxMessage.claimed_by).is_(None), col(OutboxMessage.claimed_by) == owner,
                   col(OutboxMessage.claimed_until).is_(None), col(OutboxMessage.claimed_until) <= now)

    def _set_claim(self, ids: Collection[int], owner: str, lease_until: datetime) -> None:
        if ids:  # one statement; the rows loaded in this session get the new values too
            self.session.execute(update(OutboxMessage).where(col(OutboxMessage.id).in_(list(ids)))
                                 .values(claimed_by=owner, claimed_until=lease_until))

    def move_chat(self, platform: str, old_chat_id: str, new_chat_id: str) -> None:
        self.session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.platform) == platform, col(OutboxMessage.chat_id) == old_chat_id)
            .where(col(OutboxMessage.sent_at).is_(None))
            .values(chat_id=new_chat_id, reply_to_message_id=None)
        )


class RiskEvents(_Repo):
    def add(self, row: RiskEvent) -> RiskEvent:
        return self._save(row)

    def get(self, event_id: int) -> RiskEvent | None:
        return self.session.get(RiskEvent, event_id)

    def strikes(self, platform: str, chat_id: str, user_id: str, since: datetime) -> int:
        """Warnings a member collected in a group since a time: deletions and explicit warnings."""
        return int(self.session.exec(
            select(func.count()).select_from(RiskEvent)
            .where(RiskEvent.platform == platform, RiskEvent.chat_id == chat_id)
            .where(RiskEvent.sender_user_id == user_id, RiskEvent.at >= since)
            .where(col(RiskEvent.action).in_(("deleted", "warned", "owner_asked")))
        ).one())

    def recent(self, limit: int = 100) -> Sequence[RiskEvent]:
        return self.session.exec(select(RiskEvent).order_by(col(RiskEvent.id).desc()).limit(limit)).all()

    def blocked(self, since: datetime, until: datetime, *, platform: str | None = None,
                chat_id: str | None = None) -> Sequence[RiskEvent]:
        """Block-level hits acted on (the message deleted, or its group's owner asked to) in [since, until),
        oldest first."""
        query = (select(RiskEvent).where(RiskEvent.level == "block")
                 .where(col(RiskEvent.action).in_(("deleted", "owner_asked")))
                 .where(RiskEvent.at >= since, RiskEvent.at < until))
        if platform is not None and chat_id is not None:
            query = query.where(RiskEvent.platform == platform, RiskEvent.chat_id == chat_id)
        return self.session.exec(query.order_by(col(RiskEvent.id))).all()


class Alerts(_Repo):
    def claim(self, alert: TicketAlert) -> TicketAlert:
        """Record an alert; raises IntegrityError when its key was sent before (by us or another instance)."""
        return self._save(alert)

    def sent(self, key: str) -> bool:
        return self.session.exec(select(TicketAlert.id).where(TicketAlert.key == key)).first() is not None

    def keys_for(self, ticket_ids: set[int]) -> set[str]:
        """Every alert key already sent for these tickets, in one query per thousand tickets."""
        ids, keys = sorted(ticket_ids), set[str]()
        for start in range(0, len(ids), 1000):
            keys.update(self.session.exec(
                select(TicketAlert.key).where(col(TicketAlert.ticket_id).in_(ids[start:start + 1000]))).all())
        return keys

    def for_ticket(self, ticket_id: int) -> Sequence[TicketAlert]:
        return self.session.exec(
            select(TicketAlert).where(TicketAlert.ticket_id == ticket_id).order_by(col(TicketAlert.id))
        ).all()


class Surveys(_Repo):
    def add(self, survey: Survey) -> Survey:
        return self._save(survey)

    def save(self, survey: Survey) -> Survey:
        return self._save(survey)

    def latest(self, ticket_id: int) -> Survey | None:
        return self.session.exec(
            select(Survey).where(Survey.ticket_id == ticket_id).order_by(col(Survey.round).desc())
        ).first()

    def unanswered_before(self, asked_before: datetime) -> Sequence[Survey]:
        return self.session.exec(
            select(Survey).where(Survey.status == "asked", Survey.asked_at < asked_before).order_by(col(Survey.id))
        ).all()
