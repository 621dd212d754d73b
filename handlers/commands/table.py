"""The one visible command table: every command, who may use it, and the function that runs it.

Adapters register exactly these names with the platform (Telegram's setMyCommands, WeCom's app menu).
"""

from __future__ import annotations

from handlers.commands import customer, manager
from handlers.commands.base import EVERYONE, STAFF, Command

COMMANDS: tuple[Command, ...] = (
    Command("start", EVERYONE, customer.start),
    Command("help", EVERYONE, customer.help_),
    Command("my", EVERYONE, customer.my),
    Command("bind", STAFF, manager.bind),
    Command("tickets", STAFF, manager.tickets),
    Command("ticket", STAFF, manager.ticket),
    Command("accept", STAFF, manager.accept),
    Command("reply", STAFF, manager.reply),
    Command("resolve", STAFF, manager.resolve),
    Command("risk", STAFF, manager.risk),
)

BY_NAME = {command.name: command for command in COMMANDS}
