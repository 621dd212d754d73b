"""Commands every chat member may use: /start, /help, /my."""

from __future__ import annotations

from handlers.commands.base import CommandCall
from handlers.types import Action


def start(call: CommandCall) -> list[Action]:
    return help_(call)


def help_(call: CommandCall) -> list[Action]:
    from handlers.commands.table import COMMANDS  # the table imports this module

    text = call.t("cmd.help.customer")
    if call.role.is_staff:
        lines = [f"/{c.name} — {call.t(f'cmd.desc.{c.name}')}" for c in COMMANDS if c.staff_only]
        text += "\n\n" + call.t("cmd.help.staff_header") + "\n" + "\n".join(lines)
    return [call.reply(text)]


def my(call: CommandCall) -> list[Action]:
    sender = call.incoming.sender
    tickets = call.uow.tickets.list(sender=(sender.platform, sender.user_id), limit=10)
    if not tickets:
        return [call.reply(call.t("cmd.out.my_none"))]
    texts = call.ctx.texts
    lines = [call.t("cmd.out.my_header")]
    for ticket in tickets:
        lines.append(call.t("cmd.out.my_line", number=ticket.id, kind=texts(f"kind.{ticket.kind}"),
                            status=texts(f"status.{ticket.status}"), opened=texts.when(ticket.opened_at)))
    return [call.reply("\n".join(lines))]
