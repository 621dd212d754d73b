"""The dashboard's (工作看板) queries: what one signed-in staff member may see, and the sign-in records.

Every read takes a `Scope`, turned into SQL conditions here, so a page can never forget the role check: a
grid manager sees the tickets assigned to them and those of the groups and areas they manage; a supervisor
sees their station; an admin, or a supervisor without a station (the county), sees everything.
Sign-in tokens are stored only as SHA-256 hashes: a leaked table signs nobody in.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, false, func, or_, select, true, update
from sqlmodel import Session, col

from storage.models import (
    Area,
    ChatGroup,
    Customer,
    GroupMember,
    LoginLink,
    Notice,
    NoticePhase,
    OutboxMessage,
    RiskEvent,
    Staff,
    Survey,
    Ticket,
    TicketAlert,
    TicketClock,
    TicketEvent,
    WebSession,
)
from storage.repositories import OPEN_STATUSES

LOGIN_MESSAGE_KEY = "login:{}"  # the outbox key of the chat message that carried a sign-in link


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Scope:
    """Both None: everything. A station: its tickets, groups and customers. A manager: their areas."""

    station_id: int | None = None
    manager_id: int | None = None

    @property
    def everything(self) -> bool:
        return self.station_id is None and self.manager_id is None


def _managed_groups(manager_id: int) -> Select[Any]:
    return select(col(ChatGroup.id)).where(col(ChatGroup.manager_id) == manager_id)


def _managed_areas(manager_id: int) -> Select[Any]:
    return select(col(ChatGroup.area_id)).where(col(ChatGroup.manager_id) == manager_id,
                                                col(ChatGroup.area_id).is_not(None))


def _station_areas(station_id: int) -> Select[Any]:
    return select(col(Area.id)).where(col(Area.station_id) == station_id)


def _station_staff(station_id: int) -> Select[Any]:
    return select(col(Staff.id)).where(col(Staff.station_id) == station_id)


def ticket_condition(scope: Scope) -> ColumnElement[bool]:
    if scope.manager_id is not None:
        m = scope.manager_id
        return or_(col(Ticket.assignee_id) == m, col(Ticket.group_id).in_(_managed_groups(m)),
                   col(Ticket.area_id).in_(_managed_areas(m)))
    if scope.station_id is not None:
        return col(Ticket.station_id) == scope.station_id
    return true()


def group_condition(scope: Scope) -> ColumnElement[bool]:
    if scope.manager_id is not None:
        m = scope.manager_id
        return or_(col(ChatGroup.manager_id) == m, col(ChatGroup.area_id).in_(_managed_areas(m)))
    if scope.station_id is not None:
        s = scope.station_id
        return or_(col(ChatGroup.area_id).in_(_station_areas(s)), col(ChatGroup.manager_id).in_(_station_staff(s)))
    return true()


def customer_condition(scope: Scope) -> ColumnElement[bool]:
    if scope.everything:
        return true()
    areas = _managed_areas(scope.manager_id) if scope.manager_id is not None else _station_areas(scope.station_id or 0)
    appealed = select(col(Ticket.customer_id)).where(ticket_condition(scope), col(Ticket.customer_id).is_not(None))
    return or_(col(Customer.area_id).in_(areas), col(Customer.id).in_(appealed))


def risk_condition(scope: Scope) -> ColumnElement[bool]:
    if scope.everything:
        return true()
    return col(RiskEvent.chat_id).in_(select(col(ChatGroup.chat_id)).where(group_condition(scope)))


def area_condition(scope: Scope) -> ColumnElement[bool]:
    if scope.manager_id is not None:
        return col(Area.id).in_(_managed_areas(scope.manager_id))
    if scope.station_id is not None:
        return col(Area.station_id) == scope.station_id
    return true()


@dataclass(frozen=True, slots=True)
class TicketFilter:
    status: str = ""  # a status, or "open" for every open status
    kind: str = ""
    area_id: int | None = None
    assignee_id: int | None = None


@dataclass(frozen=True, slots=True)
class TicketRow:
    ticket: Ticket
    assignee: str
    group: str
    area: str


@dataclass
class TicketDetail:
    ticket: Ticket
    events: Sequence[TicketEvent]
    clocks: Sequence[TicketClock]
    alerts: Sequence[TicketAlert]
    surveys: Sequence[Survey]
    children: Sequence[Ticket]
    staff_names: dict[int, str]
    group: ChatGroup | None
    area: Area | None
    customer: Customer | None


@dataclass(frozen=True, slots=True)
class Overview:
    new_today: int
    open: int
    overdue: int
    escalated: int
    scores: list[int]
    risk_today: int
    risk_pending: int
    opened_times: list[datetime]
    resolved_times: list[datetime]
    risk_times: list[datetime]


@dataclass(frozen=True, slots=True)
class GroupRow:
    group: ChatGroup
    area: str
    manager: str
    members: int
    left: int


@dataclass
class NoticeRow:
    notice: Notice
    phases: list[NoticePhase] = field(default_factory=list)


class Dashboard:
    """Read queries of the dashboard pages, each limited to a scope."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def _count(self, query: Select[Any]) -> int:
        return int(self.session.execute(query).scalar_one())

    def overview(self, scope: Scope, now: datetime, day_start: datetime, since: datetime) -> Overview:
        seen = ticket_condition(scope)
        tickets = select(func.count()).select_from(Ticket).where(seen)
        is_open = col(Ticket.status).in_(OPEN_STATUSES)
        late = select(col(TicketClock.ticket_id)).where(col(TicketClock.met_at).is_(None),
                                                         col(TicketClock.due_at) < now)
        escalated = select(col(TicketAlert.ticket_id)).where(col(TicketAlert.level).in_(("L1", "L2")))
        scores = self.session.execute(
            select(col(Survey.score)).join(Ticket, col(Ticket.id) == col(Survey.ticket_id))
            .where(seen, col(Survey.score).is_not(None), col(Survey.answered_at) >= since)).scalars().all()
        risk = select(func.count()).select_from(RiskEvent).where(risk_condition(scope))
        originals = col(Ticket.parent_id).is_(None)
        return Overview(
            new_today=self._count(tickets.where(col(Ticket.opened_at) >= day_start, originals)),
            open=self._count(tickets.where(is_open)),
            overdue=self._count(tickets.where(is_open, col(Ticket.id).in_(late))),
            escalated=self._count(tickets.where(is_open, col(Ticket.id).in_(escalated))),
            scores=[int(s) for s in scores if s is not None],
            risk_today=self._count(risk.where(col(RiskEvent.at) >= day_start)),
            risk_pending=self._count(risk.where(col(RiskEvent.action) == "pending")),
            opened_times=self._times(col(Ticket.opened_at), seen, originals, col(Ticket.opened_at) >= since),
            resolved_times=self._times(col(Ticket.resolved_at), seen, originals, col(Ticket.resolved_at) >= since),
            risk_times=list(self.session.execute(
                select(col(RiskEvent.at)).where(risk_condition(scope), col(RiskEvent.at) >= since)).scalars()),
        )

    def _times(self, column: Any, *conditions: ColumnElement[bool]) -> list[datetime]:
        return [t for t in self.session.execute(select(column).where(*conditions)).scalars() if t is not None]

    def tickets(self, scope: Scope, wanted: TicketFilter, limit: int = 50,
                offset: int = 0) -> tuple[list[TicketRow], int]:
        conditions = [ticket_condition(scope)]
        if wanted.status == "open":
            conditions.append(col(Ticket.status).in_(OPEN_STATUSES))
        elif wanted.status:
            conditions.append(col(Ticket.status) == wanted.status)
        if wanted.kind:
            conditions.append(col(Ticket.kind) == wanted.kind)
        if wanted.area_id is not None:
            conditions.append(col(Ticket.area_id) == wanted.area_id)
        if wanted.assignee_id is not None:
            conditions.append(col(Ticket.assignee_id) == wanted.assignee_id)
        total = self._count(select(func.count()).select_from(Ticket).where(*conditions))
        rows = self.session.execute(
            select(Ticket, col(Staff.name), col(ChatGroup.title), col(Area.name))
            .outerjoin(Staff, col(Staff.id) == col(Ticket.assignee_id))
            .outerjoin(ChatGroup, col(ChatGroup.id) == col(Ticket.group_id))
            .outerjoin(Area, col(Area.id) == col(Ticket.area_id))
            .where(*conditions).order_by(col(Ticket.id).desc()).limit(limit).offset(offset)).all()
        return [TicketRow(r[0], r[1] or "", r[2] or "", r[3] or "") for r in rows], total

    def ticket(self, scope: Scope, number: int) -> TicketDetail | None:
        """A ticket with its timeline, or None when it does not exist or is out of the scope."""
        found = self.session.execute(
            select(Ticket).where(col(Ticket.id) == number, ticket_condition(scope))).scalar_one_or_none()
        if found is None:
            return None
        ticket_id = found.id or 0
        events = self.session.execute(select(TicketEvent).where(col(TicketEvent.ticket_id) == ticket_id)
                                      .order_by(col(TicketEvent.at), col(TicketEvent.id))).scalars().all()
        surveys = self.session.execute(select(Survey).where(col(Survey.ticket_id) == ticket_id)
                                       .order_by(col(Survey.round))).scalars().all()
        return TicketDetail(
            ticket=found, events=events,
            clocks=self.session.execute(select(TicketClock).where(col(TicketClock.ticket_id) == ticket_id)
                                        .order_by(col(TicketClock.id))).scalars().all(),
            alerts=self.session.execute(select(TicketAlert).where(col(TicketAlert.ticket_id) == ticket_id)
                                        .order_by(col(TicketAlert.id))).scalars().all(),
            surveys=surveys,
            children=self.session.execute(select(Ticket).where(col(Ticket.parent_id) == ticket_id)
                                          .order_by(col(Ticket.id))).scalars().all(),
            staff_names=self.staff_names(),
            group=self.session.get(ChatGroup, found.group_id) if found.group_id else None,
            area=self.session.get(Area, found.area_id) if found.area_id else None,
            customer=self.session.get(Customer, found.customer_id) if found.customer_id else None,
        )

    def ticket_visible(self, scope: Scope, number: int) -> bool:
        return self.session.execute(select(col(Ticket.id)).where(col(Ticket.id) == number, ticket_condition(scope))
                                    ).first() is not None

    def area_names(self) -> dict[int, str]:
        return {r[0]: r[1] for r in self.session.execute(select(col(Area.id), col(Area.name))).all()}

    def staff_names(self) -> dict[int, str]:
        return {r[0]: r[1] for r in self.session.execute(select(col(Staff.id), col(Staff.name))).all()}

    def areas(self, scope: Scope) -> Sequence[Area]:
        return self.session.execute(select(Area).where(area_condition(scope)).order_by(col(Area.name))).scalars().all()

    def assignees(self, scope: Scope) -> Sequence[Staff]:
        """The staff the visible tickets are assigned to (the manager filter of the ticket list)."""
        ids = select(col(Ticket.assignee_id)).where(ticket_condition(scope), col(Ticket.assignee_id).is_not(None))
        return self.session.execute(select(Staff).where(col(Staff.id).in_(ids)).order_by(col(Staff.name))
                                    ).scalars().all()

    def assignable(self, station_id: int | None) -> Sequence[Staff]:
        """Active managers and supervisors a ticket can be handed to: the station's, or everyone's."""
        query = select(Staff).where(col(Staff.active), col(Staff.role).in_(("grid_manager", "supervisor")))
        if station_id is not None:
            query = query.where(or_(col(Staff.station_id) == station_id, col(Staff.station_id).is_(None)))
        return self.session.execute(query.order_by(col(Staff.role), col(Staff.name))).scalars().all()

    def risk_events(self, scope: Scope, *, pending: bool, limit: int = 100) -> list[tuple[RiskEvent, str]]:
        query = (select(RiskEvent, col(ChatGroup.title))
                 .outerjoin(ChatGroup, col(ChatGroup.chat_id) == col(RiskEvent.chat_id))
                 .where(risk_condition(scope)))
        query = query.where(col(RiskEvent.action) == "pending") if pending else query.where(
            col(RiskEvent.action) != "pending")
        rows = self.session.execute(query.order_by(col(RiskEvent.id).desc()).limit(limit)).all()
        return [(r[0], r[1] or r[0].chat_id) for r in rows]

    def risk_event(self, scope: Scope, event_id: int) -> RiskEvent | None:
        return self.session.execute(select(RiskEvent).where(col(RiskEvent.id) == event_id, risk_condition(scope))
                                    ).scalar_one_or_none()

    def notices(self, scope: Scope, limit: int = 100) -> list[NoticeRow]:
        """Recent notices the scope is concerned by (its areas, its station, or every group), with their phases."""
        found = self.session.execute(select(Notice).order_by(col(Notice.id).desc()).limit(limit)).scalars().all()
        return self._with_phases(self._visible_notices(scope, found))

    def notice(self, scope: Scope, notice_id: int) -> NoticeRow | None:
        found = self.session.get(Notice, notice_id)
        rows = self._with_phases(self._visible_notices(scope, [found] if found else []))
        return rows[0] if rows else None

    def _visible_notices(self, scope: Scope, found: Sequence[Notice]) -> Sequence[Notice]:
        """Notices for every group, for the scope's areas or station, or published by someone in the scope."""
        if scope.everything:
            return found
        names = set(self.session.execute(select(col(Area.name)).where(area_condition(scope))).scalars())
        authors = ({scope.manager_id} if scope.manager_id is not None else
                   set(self.session.execute(_station_staff(scope.station_id or 0)).scalars()))
        return [n for n in found if n.all_groups or names & set(n.areas) or n.created_by in authors
                or (scope.station_id is not None and scope.station_id in n.station_ids)]

    def _with_phases(self, found: Sequence[Notice]) -> list[NoticeRow]:
        rows = {n.id: NoticeRow(n) for n in found}
        if rows:
            phases = self.session.execute(select(NoticePhase).where(col(NoticePhase.notice_id).in_(list(rows)))
                                          .order_by(col(NoticePhase.due_at), col(NoticePhase.id))).scalars()
            for phase in phases:
                rows[phase.notice_id].phases.append(phase)
        return list(rows.values())

    def customers(self, scope: Scope, query: str, limit: int = 100) -> Sequence[Customer]:
        conditions = [customer_condition(scope), col(Customer.deleted_at).is_(None)]
        if query:
            like = f"%{query}%"
            conditions.append(or_(col(Customer.name).like(like), col(Customer.account_no).like(like),
                                  col(Customer.address).like(like), col(Customer.phone).like(like)))
        return self.session.execute(select(Customer).where(*conditions).order_by(col(Customer.id).desc())
                                    .limit(limit)).scalars().all()

    def groups(self, scope: Scope, query: str = "", limit: int = 200, group_id: int | None = None) -> list[GroupRow]:
        members = (select(col(GroupMember.group_id), func.count().label("n"),
                          func.count(col(GroupMember.left_at)).label("left"))
                   .group_by(col(GroupMember.group_id)).subquery())
        conditions = [group_condition(scope)]
        if query:
            conditions.append(or_(col(ChatGroup.title).like(f"%{query}%"), col(Area.name).like(f"%{query}%")))
        if group_id is not None:
            conditions.append(col(ChatGroup.id) == group_id)
        rows = self.session.execute(
            select(ChatGroup, col(Area.name), col(Staff.name), members.c.n, members.c.left)
            .outerjoin(Area, col(Area.id) == col(ChatGroup.area_id))
            .outerjoin(Staff, col(Staff.id) == col(ChatGroup.manager_id))
            .outerjoin(members, members.c.group_id == col(ChatGroup.id))
            .where(*conditions).order_by(col(ChatGroup.id)).limit(limit)).all()
        return [GroupRow(r[0], r[1] or "", r[2] or "", int(r[3] or 0) - int(r[4] or 0), int(r[4] or 0))
                for r in rows]

    def group(self, scope: Scope, group_id: int) -> tuple[GroupRow, Sequence[GroupMember], list[TicketRow]] | None:
        found = self.groups(scope, group_id=group_id)
        if not found:
            return None
        row = found[0]
        members = self.session.execute(select(GroupMember).where(col(GroupMember.group_id) == group_id)
                                       .order_by(col(GroupMember.id).desc())).scalars().all()
        tickets = self.session.execute(
            select(Ticket, col(Staff.name)).outerjoin(Staff, col(Staff.id) == col(Ticket.assignee_id))
            .where(col(Ticket.group_id) == group_id, ticket_condition(scope))
            .order_by(col(Ticket.id).desc()).limit(50)).all()
        return row, members, [TicketRow(t, name or "", row.group.title, row.area) for t, name in tickets]

    def managers(self, scope: Scope) -> set[int]:
        """The staff whose KPIs the scope shows."""
        query = select(col(Staff.id))
        if scope.manager_id is not None:
            query = query.where(col(Staff.id) == scope.manager_id)
        elif scope.station_id is not None:
            query = query.where(col(Staff.station_id) == scope.station_id)
        return {i for i in self.session.execute(query).scalars() if i is not None}


class WebAuth:
    """Sign-in records: one-time links, sessions and password hashes."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def issue_link(self, staff_id: int, token: str, now: datetime, valid_for: timedelta) -> LoginLink:
        """A new link; the staff member's earlier unused links stop working (one live link at a time)."""
        for old in self.session.execute(select(LoginLink).where(
                col(LoginLink.staff_id) == staff_id, col(LoginLink.used_at).is_(None))).scalars():
            old.used_at = now
            self.scrub_message(old.id or 0)
        link = LoginLink(token_hash=token_hash(token), staff_id=staff_id, created_at=now, expires_at=now + valid_for)
        self.session.add(link)
        self.session.flush()
        return link

    def consume_link(self, token: str, now: datetime) -> int | None:
        """The staff id of a valid, unused link, now used up; None for an unknown, used or expired one."""
        link = self.session.execute(select(LoginLink).where(col(LoginLink.token_hash) == token_hash(token))
                                    ).scalar_one_or_none()
        if link is None or link.used_at is not None or link.expires_at <= now:
            return None
        # Guarded by used_at IS NULL: of two concurrent uses, one updates the row and the other none.
        taken = self.session.execute(update(LoginLink).where(col(LoginLink.id) == link.id,
                                                             col(LoginLink.used_at).is_(None))
                                     .values(used_at=now).execution_options(synchronize_session=False))
        if getattr(taken, "rowcount", 0) != 1:
            return None
        self.scrub_message(link.id or 0)
        return link.staff_id

    def scrub_message(self, link_id: int) -> None:
        """The chat message that carried a spent link keeps no usable token in the outbox."""
        self.session.execute(update(OutboxMessage).where(col(OutboxMessage.dedupe_key) ==
                                                         LOGIN_MESSAGE_KEY.format(link_id))
                             .values(text="(sign-in link used or replaced)")
                             .execution_options(synchronize_session=False))

    def start_session(self, staff_id: int, token: str, csrf: str, now: datetime, lasts: timedelta) -> WebSession:
        row = WebSession(token_hash=token_hash(token), staff_id=staff_id, csrf_token=csrf, created_at=now,
                         expires_at=now + lasts)
        self.session.add(row)
        self.session.flush()
        return row

    def signed_in(self, token: str, now: datetime) -> tuple[WebSession, Staff] | None:
        row = self.session.execute(
            select(WebSession, Staff).join(Staff, col(Staff.id) == col(WebSession.staff_id))
            .where(col(WebSession.token_hash) == token_hash(token), col(WebSession.revoked_at).is_(None),
                   col(WebSession.expires_at) > now, col(Staff.active))).first()
        return (row[0], row[1]) if row is not None else None

    def revoke(self, session_id: int, now: datetime) -> None:
        self.session.execute(update(WebSession).where(col(WebSession.id) == session_id).values(revoked_at=now))

    def staff_named(self, who: str) -> list[Staff]:
        """Active staff whose user id, platform:user_id or name is `who`."""
        platform, _, user_id = who.partition(":")
        by_platform = (col(Staff.platform) == platform) & (col(Staff.user_id) == user_id) if user_id else false()
        return list(self.session.execute(select(Staff).where(
            col(Staff.active), or_(col(Staff.user_id) == who, col(Staff.name) == who, by_platform))).scalars())

    def set_password(self, staff_id: int, password_hash: str | None) -> None:
        self.session.execute(update(Staff).where(col(Staff.id) == staff_id).values(password_hash=password_hash))
