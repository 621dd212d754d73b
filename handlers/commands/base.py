"""What every command receives and may raise; the table lives in handlers/commands/table.py."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from handlers.context import Context
from handlers.types import Action, ChatType, Incoming, Queued, Role, Send
from storage.models import Staff
from storage.uow import UnitOfWork

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]{3,64}))?(?:\s+(.*))?$", re.DOTALL)


class UsageError(Exception):
    """The arguments do not fit; the command's usage line is sent back."""


class Refusal(Exception):
    """A polite refusal whose text is already translated."""


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    name: str
    args: str


def parse_command(text: str, bot_username: str = "") -> ParsedCommand | None:
    """`/reply@GridBot 12 hi` → ("reply", "12 hi"); commands addressed to another bot are not ours."""
    match = _COMMAND.match(text.strip())
    if match is None:
        return None
    name, addressee, args = match.group(1).lower(), match.group(2), match.group(3) or ""
    if addressee and bot_username and addressee.lower() != bot_username.lower():
        return None
    return ParsedCommand(name, args.strip())


@dataclass
class CommandCall:
    incoming: Incoming
    args: str
    role: Role
    staff: Staff | None
    uow: UnitOfWork
    ctx: Context
    # Rows the command wrote to the outbox itself, each under its own key (a notice's fan-out): the router
    # hands them to delivery with the reply instead of queueing them a second time.
    queued: list[Queued] = field(default_factory=list)

    def reply(self, text: str) -> Send:
        """An answer where the command was given; numbers stay readable only in a staff member's private chat."""
        private_staff = self.incoming.chat_type is ChatType.PRIVATE and self.role.is_staff
        return Send(self.incoming.chat, text, reply_to_message_id=self.incoming.message_id,
                    shows_numbers=private_staff)

    def t(self, key: str, **values: object) -> str:
        return self.ctx.texts(key, **values)


Runner = Callable[[CommandCall], list[Action]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    roles: frozenset[Role]
    run: Runner

    @property
    def staff_only(self) -> bool:
        return Role.CUSTOMER not in self.roles


EVERYONE = frozenset(Role)
STAFF = frozenset({Role.GRID_MANAGER, Role.SUPERVISOR, Role.ADMIN})


def ticket_number(arg: str) -> int:
    """Accepts 12, #12 and 12号; anything else is a usage error."""
    cleaned = arg.strip().lstrip("#＃").removesuffix("号")
    if not cleaned.isdigit() or len(cleaned) > 9:
        raise UsageError
    return int(cleaned)
