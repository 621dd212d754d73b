"""The one visible command table: every command, who may use it, and the function that runs it.

Adapters register exactly these names with the platform (Telegram's setMyCommands, WeCom's app menu).
"""

from __future__ import annotations

from handlers.commands import customer, manager, notices, subscriptions, web_login, workflow
from handlers.commands.base import EVERYONE, STAFF, Command

COMMANDS: tuple[Command, ...] = (
    Command("start", EVERYONE, customer.start),
    Command("help", EVERYONE, customer.help_),
    Command("my", EVERYONE, customer.my),
    Command("subscribe", EVERYONE, subscriptions.subscribe),
    Command("unsubscribe", EVERYONE, subscriptions.unsubscribe),
    Command("subscriptions", EVERYONE, subscriptions.subscriptions),
    Command("bind", STAFF, manager.bind),
    Command("tickets", STAFF, manager.tickets),
    Command("ticket", STAFF, manager.ticket),
    Command("accept", STAFF, workflow.accept),
    Command("reply", STAFF, workflow.reply),
    Command("wait", STAFF, workflow.wait),
    Command("arrive", STAFF, workflow.arrived),
    Command("resolve", STAFF, workflow.resolve),
    Command("reopen", STAFF, workflow.reopen),
    Command("cancel", STAFF, workflow.cancel),
    Command("merge", STAFF, workflow.merge),
    Command("assign", STAFF, workflow.assign),
    Command("note", STAFF, workflow.internal_note),
    Command("urge", STAFF, workflow.urge),
    Command("level", STAFF, workflow.level),
    Command("away", STAFF, manager.away),
    Command("back", STAFF, manager.back),
    Command("risk", STAFF, manager.risk),
    Command("tag", STAFF, manager.tag),
    Command("notice", STAFF, notices.notice),
    Command("notices", STAFF, notices.notices),
    Command("login", STAFF, web_login.login),
)

BY_NAME = {command.name: command for command in COMMANDS}
