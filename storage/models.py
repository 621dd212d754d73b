"""SQLModel tables. Datetimes are timezone-aware and stored in UTC; handlers convert for display."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel


class Station(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)


class Area(SQLModel, table=True):
    """A 台区 (transformer area); its type picks the repair deadline."""

    id: int | None = Field(default=None, primary_key=True)
    station_id: int = Field(foreign_key="station.id", index=True)
    name: str = Field(max_length=100)
    area_type: str = Field(default="rural", max_length=10)  # city | rural | remote

    __table_args__ = (UniqueConstraint("station_id", "name"),)


class Staff(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    user_id: str = Field(max_length=64)
    name: str = Field(max_length=100)
    role: str = Field(max_length=20)  # grid_manager | supervisor | admin
    grade: str | None = Field(default=None, max_length=10)  # 高级 | 中级 | 初级
    station_id: int | None = Field(default=None, foreign_key="station.id")
    active: bool = True
    away: bool = False  # on leave or off duty: round-robin assignment skips them
    last_assigned_at: datetime | None = None  # round-robin picks the manager assigned longest ago
    # Dashboard sign-in: a password hash set by `gridbot staff passwd`; None means links only.
    password_hash: str | None = Field(default=None, max_length=200)
    created_at: datetime

    __table_args__ = (UniqueConstraint("platform", "user_id"),)


class ChatGroup(SQLModel, table=True):
    __tablename__ = "chat_group"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    title: str = Field(default="", max_length=200)
    area_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    manager_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    active: bool = True
    # Risk policy set by the group's managers with /risk; None means the station's default.
    risk_enabled: bool = True
    risk_warn_limit: int | None = None
    risk_restrict_minutes: int | None = None
    # Managers' labels (e.g. 小区, 商户, 农业) that announcements can target.
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    # WeCom customer groups belong to a staff member (群主): the only one who can post into the group, so
    # replies and notices for it go to them as tasks. None on Telegram.
    owner_user_id: str | None = Field(default=None, max_length=64)
    created_at: datetime
    updated_at: datetime

    __table_args__ = (UniqueConstraint("platform", "chat_id"),)


class GroupMember(SQLModel, table=True):
    """One membership period: a member who leaves and rejoins gets a new row."""

    __tablename__ = "group_member"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(foreign_key="chat_group.id", index=True)
    user_id: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=200)
    joined_at: datetime | None = None
    left_at: datetime | None = None

    __table_args__ = (Index("ix_group_member_group_user", "group_id", "user_id"),)


class Customer(SQLModel, table=True):
    """A customer record with the SG186 fields; linked to one chat account when known."""

    id: int | None = Field(default=None, primary_key=True)
    account_no: str | None = Field(default=None, max_length=20, unique=True)  # 户号
    name: str = Field(default="", max_length=100)
    phone: str | None = Field(default=None, max_length=20)
    address: str = Field(default="", max_length=300)
    area_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    usage_category: str | None = Field(default=None, max_length=20)  # 居民 / 农业 / 工商业 …
    industry: str | None = Field(default=None, max_length=50)
    importance: str | None = Field(default=None, max_length=10)  # 特级 / 一级 / 二级
    locality: str | None = Field(default=None, max_length=10)  # city | rural | remote
    capacity_kva: float | None = None
    voltage: str | None = Field(default=None, max_length=20)
    households: int | None = None  # a residential community's households (2000+ makes it a big customer)
    manager_id: int | None = Field(default=None, foreign_key="staff.id", index=True)  # responsible manager
    # Managers' labels (e.g. 光伏, 低保, 敏感客户) that segments can select.
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    platform: str | None = Field(default=None, max_length=20)
    user_id: str | None = Field(default=None, max_length=64)
    created_at: datetime
    updated_at: datetime | None = None  # None: never changed since it was created
    deleted_at: datetime | None = None  # soft delete; an erased record is also deleted

    __table_args__ = (UniqueConstraint("platform", "user_id"),)


class CustomerEvent(SQLModel, table=True):
    """Audit trail of a customer record: who created, changed, imported, deleted or erased it, and when.

    `data` names the fields that changed (and an import's file and row), never their values, so an erased
    customer leaves no personal data behind here.
    """

    __tablename__ = "customer_event"

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(foreign_key="customer.id", index=True)
    at: datetime
    actor: str = Field(max_length=100)  # "cli", "staff:<id>", "customer:<platform>:<id>", "import"
    action: str = Field(max_length=20)  # created | updated | deleted | erased | imported
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Ticket(SQLModel, table=True):
    """An appeal (诉求工单). `id` doubles as the number people type: /ticket 12."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20, index=True)
    status: str = Field(default="new", max_length=20, index=True)
    text: str
    customer_id: int | None = Field(default=None, foreign_key="customer.id", index=True)
    group_id: int | None = Field(default=None, foreign_key="chat_group.id", index=True)
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    sender_user_id: str = Field(max_length=64)
    sender_name: str = Field(default="", max_length=200)
    source_message_id: str = Field(max_length=64)
    assignee_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    confidence: float = 0.0
    opened_at: datetime
    updated_at: datetime
    last_customer_message_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    due_at: datetime | None = None
    resolution: str | None = None
    area_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    station_id: int | None = Field(default=None, foreign_key="station.id", index=True)
    # A duplicate report of the same fault is linked under one parent (status "merged").
    parent_id: int | None = Field(default=None, foreign_key="ticket.id", index=True)
    important: bool = False  # an important customer (重要等级): stricter clocks, escalated at once
    level: str | None = Field(default=None, max_length=10)  # complaint level 特殊 | 重大 | 重要 | 一般
    paused_at: datetime | None = None  # waiting for the customer since: the clocks stand still

    __table_args__ = (Index("ix_ticket_sender_open", "platform", "chat_id", "sender_user_id", "status"),)


class TicketClock(SQLModel, table=True):
    """One promised deadline of a ticket (repair: arrival, then restoration)."""

    __tablename__ = "ticket_clock"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    name: str = Field(max_length=30)
    due_at: datetime
    met_at: datetime | None = None
    # The promise itself, so a clock can be restarted (restoration starts at arrival) or shifted
    # (waiting for the customer) without the deadline table at hand.
    started_at: datetime | None = None
    amount: int = 0
    unit: str = Field(default="h", max_length=5)  # min | h | wd
    met_on: str = Field(default="resolve", max_length=10)  # contact | arrival | resolve
    after: str | None = Field(default=None, max_length=30)  # starts when this earlier clock is met
    escalate: bool = True  # praise is never escalated


class TicketEvent(SQLModel, table=True):
    """Append-only log of what happened to a ticket, who did it and when."""

    __tablename__ = "ticket_event"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    at: datetime
    actor: str = Field(max_length=100)  # "customer:<platform>:<id>", "staff:<id>", "system"
    action: str = Field(max_length=30)
    note: str = ""
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class InboundMessage(SQLModel, table=True):
    """Every message the core handled, unique per (platform, chat, message id): the idempotency key."""

    __tablename__ = "inbound_message"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    message_id: str = Field(max_length=64)
    sender_user_id: str = Field(max_length=64)
    kind: str = Field(max_length=20)
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    received_at: datetime

    __table_args__ = (UniqueConstraint("platform", "chat_id", "message_id"),)


class FailedUpdate(SQLModel, table=True):
    """An update the core failed on repeatedly: kept whole so it can be replayed, never dropped."""

    __tablename__ = "failed_update"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    update_key: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str = ""
    failed_at: datetime
    replayed_at: datetime | None = None


class OutboxMessage(SQLModel, table=True):
    """A message to send, written in the same transaction as the change that caused it.

    Sent rows get `sent_at`; rows still pending after a crash are sent when the service starts again.
    """

    __tablename__ = "outbox_message"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=64, index=True)
    action: str = Field(default="send", max_length=10)  # send | delete | restrict
    text: str = ""
    reply_to_message_id: str | None = Field(default=None, max_length=64)
    message_id: str | None = Field(default=None, max_length=64)  # the message to delete
    user_id: str | None = Field(default=None, max_length=64)  # the member to restrict
    until: datetime | None = None  # end of a restriction
    buttons: list[list[dict[str, str]]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # A picture (PNG) sent with `text` as its caption, e.g. the digest's chart.
    photo: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime
    attempts: int = 0
    sent_at: datetime | None = None
    failed_at: datetime | None = None
    error: str = ""
    # Fan-out rows carry a key ("notice:<phase>:<group>") so a phase fired twice writes each row once.
    dedupe_key: str | None = Field(default=None, max_length=80, unique=True)
    notice_phase_id: int | None = Field(default=None, foreign_key="notice_phase.id", index=True)
    # Several dispatchers on one PostgreSQL: a row is claimed (FOR UPDATE SKIP LOCKED) for a lease.
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = None

    __table_args__ = (Index("ix_outbox_pending", "platform", "sent_at", "failed_at"),)


class RiskEvent(SQLModel, table=True):
    """A sensitive-word or leak hit in a group, and what was done about it (and by whom)."""

    __tablename__ = "risk_event"

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=64, index=True)
    message_id: str = Field(max_length=64)
    sender_user_id: str = Field(max_length=64, index=True)
    sender_name: str = Field(default="", max_length=200)
    category: str = Field(max_length=30)
    level: str = Field(max_length=10)  # block | review | log
    word: str = Field(max_length=100)
    excerpt: str = Field(default="", max_length=300)  # masked
    action: str = Field(max_length=20)  # deleted | pending | logged | warned | restricted | dismissed | staff
    at: datetime
    handled_by: int | None = Field(default=None, foreign_key="staff.id")
    handled_at: datetime | None = None


class TicketAlert(SQLModel, table=True):
    """A deadline warning or escalation that was sent. The unique key makes each one go out once,
    across restarts and across several running instances."""

    __tablename__ = "ticket_alert"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=80, unique=True)  # "<ticket>:<clock or ->:<level>"
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    clock_id: int | None = Field(default=None, foreign_key="ticket_clock.id")
    level: str = Field(max_length=10)  # warn | L1 | L2 | urge
    at: datetime
    recipients: int = 0


class Survey(SQLModel, table=True):
    """One satisfaction survey of a resolved ticket (a reopened and re-resolved ticket gets another round).

    The rated manager and station are copied at rating time, so later reassignment does not move a rating.
    """

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="ticket.id", index=True)
    round: int = 1
    platform: str = Field(max_length=20)
    chat_id: str = Field(max_length=64)
    customer_user_id: str = Field(max_length=64)
    status: str = Field(default="asked", max_length=20)  # asked | rated | awaiting_reason | no_rating
    asked_at: datetime
    score: int | None = None
    answered_at: datetime | None = None
    reason: str = ""
    staff_id: int | None = Field(default=None, foreign_key="staff.id", index=True)
    station_id: int | None = Field(default=None, foreign_key="station.id")

    __table_args__ = (UniqueConstraint("ticket_id", "round"),)


class Notice(SQLModel, table=True):
    """An outage notice (停电通知) or an announcement, and the areas it is for.

    `version` counts changes: each change or cancellation is announced again to the same groups.
    """

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=20)  # planned | temporary | fault | announcement
    areas: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # 台区 names
    lines: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    villages: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    all_groups: bool = False  # an announcement to every active group of the station
    # An announcement may also target groups by tag or by station (any match reaches the group).
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]"))
    station_ids: list[int] = Field(default_factory=list,
                                   sa_column=Column(JSON, nullable=False, server_default="[]"))
    start_at: datetime | None = None
    end_at: datetime | None = None
    reason: str = ""
    contact: str = Field(default="", max_length=100)
    text: str = ""  # an announcement's own words
    status: str = Field(default="scheduled", max_length=20, index=True)  # scheduled | cancelled | finished
    version: int = 1
    warning: str = ""  # e.g. the legal notice period was not met, shown to the publisher
    created_by: int | None = Field(default=None, foreign_key="staff.id")
    created_at: datetime
    updated_at: datetime
    restored_at: datetime | None = None


class NoticePhase(SQLModel, table=True):
    """One moment a notice is sent: on publication, the day before, shortly before, at the start, on
    restoration, or a change / cancellation. The scheduler fires each pending phase once."""

    __tablename__ = "notice_phase"

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    phase: str = Field(max_length=20)  # published | day_before | soon | start | restored | changed | cancelled
    version: int = 1  # the notice version the phase belongs to
    due_at: datetime
    useful_until: datetime | None = None  # a phase missed beyond this is skipped, with a record
    status: str = Field(default="pending", max_length=20, index=True)  # pending | sent | skipped | dropped
    fired_at: datetime | None = None
    note: str = ""
    groups: int = 0  # outbox rows written when it fired


class Subscription(SQLModel, table=True):
    """A customer's subscription (供电信息订阅) to the notices of one 台区, or of one 户号 whose customer record is
    not known yet, delivered to their private chat with the bot. A cancelled one keeps its row and comes back
    on the next /subscribe."""

    id: int | None = Field(default=None, primary_key=True)
    platform: str = Field(max_length=20)
    user_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)  # the private chat the notices go to
    area_id: int | None = Field(default=None, foreign_key="area.id", index=True)
    account_no: str | None = Field(default=None, max_length=20, index=True)  # 户号 matched when a notice is sent
    created_at: datetime
    cancelled_at: datetime | None = None

    # Exactly one target; NULLs never collide, so each unique constraint guards one kind of target.
    __table_args__ = (
        UniqueConstraint("platform", "user_id", "area_id", name="uq_subscription_user_area"),
        UniqueConstraint("platform", "user_id", "account_no", name="uq_subscription_user_account"),
        CheckConstraint("(area_id IS NULL) <> (account_no IS NULL)", name="ck_subscription_one_target"),
    )


class WebSession(SQLModel, table=True):
    """A dashboard sign-in. Only a hash of the cookie's token is stored, so a leaked table signs nobody in."""

    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    csrf_token: str = Field(max_length=64)
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = None


class LoginLink(SQLModel, table=True):
    """A one-time sign-in link the bot sends a staff member in private chat."""

    __tablename__ = "login_link"
    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    staff_id: int = Field(foreign_key="staff.id", index=True)
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


class WecomCallback(SQLModel, table=True):
    """A verified, decrypted WeCom callback, stored before it is acknowledged and handled after.

    `key` deduplicates WeCom's retries (3 of them) and repeated events: the message id when there is one,
    otherwise a hash of the decrypted body. A row not yet processed (a crash after the acknowledgement) is
    handled at the next start or sweep."""

    __tablename__ = "wecom_callback"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=100, unique=True)
    kind: str = Field(max_length=40)  # text | change_external_chat | kf_msg_or_event | template_card_event …
    payload: str  # the decrypted XML
    received_at: datetime
    processed_at: datetime | None = Field(default=None, index=True)
    attempts: int = 0
    error: str = ""


class WecomGroupMessage(SQLModel, table=True):
    """One 群发 task (externalcontact/add_msg_template, chat_type=group): a text an owner must confirm."""

    __tablename__ = "wecom_group_message"
    id: int | None = Field(default=None, primary_key=True)
    msgid: str = Field(max_length=100, unique=True)
    sender: str = Field(max_length=64)  # the owner who confirms it
    notice_phase_id: int | None = Field(default=None, foreign_key="notice_phase.id", index=True)
    created_at: datetime
    reminded_at: datetime | None = None
    checked_at: datetime | None = None
    done_at: datetime | None = Field(default=None, index=True)  # every group answered, or gave up


class WecomGroupTarget(SQLModel, table=True):
    """One group of a 群发 task and what WeCom reports for it."""

    __tablename__ = "wecom_group_target"
    id: int | None = Field(default=None, primary_key=True)
    group_message_id: int = Field(foreign_key="wecom_group_message.id", index=True)
    chat_id: str = Field(max_length=64, index=True)
    outbox_id: int | None = Field(default=None, foreign_key="outbox_message.id")
    status: str = Field(default="waiting", max_length=20)  # waiting | sent | over_quota | failed
    created_at: datetime
    sent_at: datetime | None = None


class WecomKfChat(SQLModel, table=True):
    """A customer talking to a 微信客服 account: replies are allowed for 48 hours after their last message,
    at most 5 of them."""

    __tablename__ = "wecom_kf_chat"
    id: int | None = Field(default=None, primary_key=True)
    external_userid: str = Field(max_length=64, unique=True)
    open_kfid: str = Field(max_length=64)
    last_customer_at: datetime
    replies_since: int = 0


class WecomState(SQLModel, table=True):
    """Small pieces of channel state that must survive a restart (e.g. the kf/sync_msg cursor)."""

    __tablename__ = "wecom_state"
    key: str = Field(primary_key=True, max_length=100)
    value: str = ""
    updated_at: datetime
