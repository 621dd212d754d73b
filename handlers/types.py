"""Platform-neutral message and action types: the only language the core speaks.

Adapters (bot/) turn platform updates into `Incoming` and carry out `Action`s; the core never
imports a platform SDK.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    """Appeal categories (95598 business types) plus `none` for ordinary chat."""

    REPAIR = "repair"
    COMPLAINT = "complaint"
    REPORT = "report"
    OPINION = "opinion"
    SUGGESTION = "suggestion"
    PRAISE = "praise"
    INQUIRY = "inquiry"
    SERVICE_REQUEST = "service_request"
    NONE = "none"


class Role(StrEnum):
    CUSTOMER = "customer"
    GRID_MANAGER = "grid_manager"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.CUSTOMER


class ChatType(StrEnum):
    GROUP = "group"
    PRIVATE = "private"
    # A customer's 1:1 chat with the station's service account (WeCom 微信客服): appeals as in a group.
    SERVICE = "service"


@dataclass(frozen=True, slots=True)
class ChatRef:
    """A chat on one platform: ("telegram", "-100123") or ("wecom", "wrOgQh...")."""

    platform: str
    chat_id: str


@dataclass(frozen=True, slots=True)
class UserRef:
    platform: str
    user_id: str
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class Incoming:
    """One customer or staff message, as every channel hands it to the core."""

    chat: ChatRef
    sender: UserRef
    text: str
    message_id: str
    sent_at: datetime
    chat_type: ChatType = ChatType.GROUP
    chat_title: str = ""
    edited: bool = False
    reply_to_message_id: str | None = None


@dataclass(frozen=True, slots=True)
class Button:
    text: str
    data: str


@dataclass(frozen=True, slots=True)
class Send:
    """A message to post. Phone and ID numbers in `text` are masked when it is queued, unless
    `shows_numbers` says it goes to a staff member's private chat, where the number is needed to call back."""

    chat: ChatRef
    text: str
    reply_to_message_id: str | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    shows_numbers: bool = False
    photo: bytes | None = None  # a PNG sent with `text` as its caption (at most 1024 characters)


@dataclass(frozen=True, slots=True)
class Delete:
    chat: ChatRef
    message_id: str


@dataclass(frozen=True, slots=True)
class Restrict:
    """Mute a member of a group until a time (Telegram: restrictChatMember without permissions)."""

    chat: ChatRef
    user_id: str
    until: datetime


Action = Send | Delete | Restrict


@dataclass(frozen=True, slots=True)
class Queued:
    """An action stored in the outbox with the change that caused it; the edge sends it and marks it."""

    outbox_id: int
    action: Action


@dataclass(slots=True)
class Outcome:
    """What handling one message produced: actions to carry out and facts for logs and tests."""

    actions: list[Action] = field(default_factory=list)
    queued: list[Queued] = field(default_factory=list)
    ticket_number: str | None = None
    kind: Kind = Kind.NONE
    duplicate: bool = False
    notice: str | None = None  # the short answer to a button press


@dataclass(frozen=True, slots=True)
class MemberChange:
    """A member joined or left a group (not the bot itself)."""

    chat: ChatRef
    user: UserRef
    joined: bool
    at: datetime
    chat_title: str = ""


@dataclass(frozen=True, slots=True)
class BotMembership:
    """The bot was added to or removed from a group."""

    chat: ChatRef
    present: bool
    at: datetime
    chat_title: str = ""
    by: UserRef | None = None


@dataclass(frozen=True, slots=True)
class ChatMigrated:
    """A Telegram group became a supergroup: same group, new chat id."""

    old: ChatRef
    new: ChatRef


@dataclass(frozen=True, slots=True)
class ButtonPress:
    """Someone pressed an inline button; `data` is whatever the core put on it, and is not trusted."""

    chat: ChatRef
    user: UserRef
    data: str
    message_id: str
