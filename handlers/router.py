"""The core's entry point: one platform-neutral event in, an Outcome (actions to carry out) out.

Order per message: risk control first (its hook list is filled by the risk issue), then a command
from the table, then the appeal router for group messages.
"""

from __future__ import annotations

import logging

from handlers import buttons
from handlers.appeals import handle_group_message
from handlers.channels import capabilities
from handlers.commands.base import Command, CommandCall, ParsedCommand, Refusal, UsageError, parse_command
from handlers.commands.table import BY_NAME
from handlers.context import Context
from handlers.outbox import queue
from handlers.risk import raid_alert
from handlers.types import (
    Action,
    BotMembership,
    ButtonPress,
    ChatMigrated,
    ChatType,
    Incoming,
    MemberChange,
    Outcome,
    Role,
    Send,
)
from storage.models import GroupMember, InboundMessage
from storage.uow import IntegrityError

log = logging.getLogger(__name__)


def handle(incoming: Incoming, ctx: Context) -> Outcome:
    if not incoming.text.strip():
        return Outcome()
    command = parse_command(incoming.text, ctx.bot_username)
    if command is not None:
        return run_command(incoming, command, ctx)
    if incoming.chat_type in (ChatType.GROUP, ChatType.SERVICE):
        return handle_group_message(incoming, ctx)
    with ctx.uow() as uow:  # through the outbox, like every reply (the edge sends only what was queued)
        outcome = queue(uow, Outcome(actions=[Send(incoming.chat, ctx.texts("cmd.private_hint"))]), ctx.clock())
        uow.commit()
    return outcome


def run_command(incoming: Incoming, parsed: ParsedCommand, ctx: Context) -> Outcome:
    command = BY_NAME.get(parsed.name)
    with ctx.uow() as uow:
        try:  # a redelivered command must not post a second reply in the customer's group
            uow.inbound.claim(InboundMessage(
                platform=incoming.chat.platform, chat_id=incoming.chat.chat_id,
                message_id=incoming.message_id, sender_user_id=incoming.sender.user_id,
                kind=f"/{parsed.name}"[:20], received_at=ctx.clock()))
        except IntegrityError:
            return Outcome(duplicate=True)
        staff = uow.staff.find(incoming.sender.platform, incoming.sender.user_id)
        role = Role(staff.role) if staff else Role.CUSTOMER
        call = CommandCall(incoming, parsed.args, role, staff, uow, ctx)
        actions: list[Action]
        if command is None:
            actions = [call.reply(ctx.texts("cmd.unknown", command=f"/{parsed.name}"))]
        elif role not in command.roles:
            log.warning("refused /%s for %s user %s", parsed.name, incoming.sender.platform,
                        incoming.sender.user_id)
            actions = [call.reply(ctx.texts("cmd.refused", command=f"/{parsed.name}"))]
        else:
            actions = _run(call, command)
        outcome = queue(uow, Outcome(actions=actions), ctx.clock())
        outcome.actions += [item.action for item in call.queued]  # already stored by the command: not twice
        outcome.queued += call.queued
        uow.commit()
    return outcome


def _run(call: CommandCall, command: Command) -> list[Action]:
    """Run a command; its writes are undone if it ends in a usage error or a refusal."""
    savepoint = call.uow.session.begin_nested()
    try:
        result = command.run(call)
        savepoint.commit()
        return result
    except UsageError:
        savepoint.rollback()
        call.queued.clear()  # their rows were rolled back with the savepoint
        usage = call.t(f"cmd.usage.{command.name}")
        return [call.reply(call.t("cmd.usage_line", usage=usage))]
    except Refusal as refusal:
        savepoint.rollback()
        call.queued.clear()
        return [call.reply(str(refusal))]


def button_pressed(press: ButtonPress, ctx: Context) -> Outcome:
    return buttons.button_pressed(press, ctx)


def member_changed(event: MemberChange, ctx: Context, welcome: bool = True) -> Outcome:
    """Record a join or leave with its time; optionally welcome the newcomer."""
    with ctx.uow() as uow:
        group = uow.groups.ensure(event.chat.platform, event.chat.chat_id, event.chat_title, event.at)
        assert group.id is not None
        current = uow.groups.open_membership(group.id, event.user.user_id)
        # Telegram reports a join twice (chat_member update and service message): record it once.
        newly_joined = event.joined and current is None
        if newly_joined:
            uow.groups.add_member(GroupMember(group_id=group.id, user_id=event.user.user_id,
                                              display_name=event.user.display_name[:200], joined_at=event.at))
        elif not event.joined and current is not None:
            current.left_at = event.at
            uow.groups.add_member(current)
        outcome = Outcome()
        # No welcome where a group post needs its owner's confirmation (WeCom): a task per join is noise.
        if newly_joined and welcome and capabilities(event.chat.platform).posts_to_groups:
            outcome.actions.append(Send(event.chat, ctx.texts("cmd.out.welcome", name=event.user.display_name)))
        if newly_joined and ctx.behaviour.join(event.chat.chat_id, event.at):
            outcome.actions += raid_alert(uow, ctx, group, ctx.behaviour.limits.raid_joins)
        queue(uow, outcome, ctx.clock())
        uow.commit()
    return outcome


def bot_membership(event: BotMembership, ctx: Context) -> Outcome:
    with ctx.uow() as uow:
        known = uow.groups.find(event.chat.platform, event.chat.chat_id)
        was_present = known is not None and known.active
        group = uow.groups.ensure(event.chat.platform, event.chat.chat_id, event.chat_title, event.at)
        group.active, group.updated_at = event.present, event.at
        uow.groups.save(group)
        outcome = Outcome()
        greets = capabilities(event.chat.platform).posts_to_groups
        if event.present and not was_present and greets:  # a repeated "added" event does not greet twice
            outcome.actions.append(Send(event.chat, ctx.texts("cmd.out.bot_joined", station=ctx.station_name)))
        queue(uow, outcome, ctx.clock())
        uow.commit()
    return outcome


def chat_migrated(event: ChatMigrated, ctx: Context) -> Outcome:
    """Keep the group's records (area, manager, members, tickets) under its new chat id."""
    with ctx.uow() as uow:
        uow.groups.migrate(event.old.platform, event.old.chat_id, event.new.chat_id, ctx.clock())
        uow.commit()
    return Outcome()
