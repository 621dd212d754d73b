"""Staff commands about groups and the work list: bind a group, list and show tickets, duty, risk policy, tags.

The commands that move a ticket through its loop are in handlers/commands/workflow.py."""

from __future__ import annotations

from datetime import timedelta

from handlers.commands.base import CommandCall, Refusal, UsageError
from handlers.commands.notices import clean_tag
from handlers.commands.workflow import find
from handlers.risk import policy_for
from handlers.types import Action, ChatType
from storage.models import ChatGroup, Ticket

AREA_TYPES = ("city", "rural", "remote")


def bind(call: CommandCall) -> list[Action]:
    """/bind AREA [TYPE] [MANAGER] in the group; in a private chat /bind GROUP AREA …, for platforms where the
    bot hears no group text (WeCom customer groups)."""
    incoming = call.incoming
    group, args = _named_or_this_group(call, "/bind")
    parts = args.split()
    if not parts or len(parts) > 3 or (len(parts) >= 2 and parts[1] not in AREA_TYPES):
        raise UsageError
    manager = call.staff
    if len(parts) == 3:
        manager = call.uow.staff.find(incoming.chat.platform, parts[2])
        if manager is None:
            raise Refusal(call.t("cmd.out.bind_unknown_manager", user_id=parts[2]))
    assert manager is not None
    now = call.ctx.clock()
    station = call.uow.stations.get_or_create(call.ctx.station_name)
    assert station.id is not None
    area = call.uow.stations.area(station.id, parts[0], parts[1] if len(parts) >= 2 else None)
    group.area_id, group.manager_id, group.active, group.updated_at = area.id, manager.id, True, now
    call.uow.groups.save(group)
    area_type = call.t(f"area_type.{area.area_type}")
    bound = call.t("cmd.out.bound", area=area.name, area_type=area_type, manager=manager.name)
    return [call.reply(bound)]


def tickets(call: CommandCall) -> list[Action]:
    incoming, uow = call.incoming, call.uow
    show_all = call.args.strip().lower() == "all"
    if call.args.strip() and not show_all:
        raise UsageError
    if incoming.chat_type is ChatType.GROUP and not show_all:
        group = uow.groups.find(incoming.chat.platform, incoming.chat.chat_id)
        rows = uow.tickets.list(group_id=group.id, open_only=True) if group else []
    elif show_all:
        rows = uow.tickets.list(open_only=True)
    else:
        rows = uow.tickets.list(assignee_id=call.staff.id if call.staff else -1, open_only=True)
    if not rows:
        return [call.reply(call.t("cmd.out.tickets_none"))]
    lines = [call.t("cmd.out.tickets_header", count=len(rows))]
    lines += [_line(call, ticket) for ticket in rows[:30]]
    return [call.reply("\n".join(lines))]


def ticket(call: CommandCall) -> list[Action]:
    found = find(call, call.args)
    texts = call.ctx.texts
    assignee = call.uow.staff.get(found.assignee_id) if found.assignee_id else None
    group = call.uow.groups.get(found.group_id) if found.group_id else None
    lines = [call.t("cmd.out.ticket_detail", number=found.id, kind=texts(f"kind.{found.kind}"),
                    status=texts(f"status.{found.status}"), customer=found.sender_name,
                    group=group.title if group else found.chat_id, text=found.text[:500],
                    assignee=assignee.name if assignee else "-",
                    due=texts.when(found.due_at) if found.due_at else "-")]
    if found.parent_id:
        lines.append(call.t("cmd.out.ticket_parent", parent=found.parent_id))
    if children := call.uow.tickets.children(found.id or 0):
        lines.append(call.t("cmd.out.ticket_children", count=len(children),
                            numbers=" ".join(str(child.id) for child in children[:20])))
    for clock in call.uow.tickets.clocks(found.id or 0):
        state = (call.t("cmd.out.clock_met", at=texts.at(clock.met_at), late="" if clock.met_at <= clock.due_at
                        else call.t("cmd.out.clock_late")) if clock.met_at else call.t("cmd.out.clock_running"))
        lines.append(call.t("cmd.out.clock_line", clock=texts(f"clock.{clock.name}"), due=texts.when(clock.due_at),
                            state=state))
    for event in call.uow.tickets.events(found.id or 0)[-10:]:
        lines.append(call.t("cmd.out.event_line", at=texts.at(event.at),
                            action=texts(f"action.{event.action}"), note=event.note[:80]))
    return [call.reply("\n".join(lines))]


def away(call: CommandCall) -> list[Action]:
    """/away: off duty; new tickets of unowned groups go round-robin to the others."""
    return _duty(call, away=True)


def back(call: CommandCall) -> list[Action]:
    return _duty(call, away=False)


def _duty(call: CommandCall, *, away: bool) -> list[Action]:
    if call.args.strip():
        raise UsageError
    assert call.staff is not None
    call.staff.away = away
    call.uow.staff.save(call.staff)
    return [call.reply(call.t("cmd.out.away" if away else "cmd.out.back", name=call.staff.name))]


def _line(call: CommandCall, found: Ticket) -> str:
    texts = call.ctx.texts
    return call.t("ticket.line", number=found.id, kind=texts(f"kind.{found.kind}"),
                  status=texts(f"status.{found.status}"), customer=found.sender_name, text=found.text[:40])


def _this_group(call: CommandCall, command: str) -> ChatGroup:
    """The group the command was sent in (recorded if new); refused in a private chat."""
    incoming = call.incoming
    if incoming.chat_type is not ChatType.GROUP:
        raise Refusal(call.t("cmd.group_only", command=command))
    return call.uow.groups.ensure(incoming.chat.platform, incoming.chat.chat_id, incoming.chat_title,
                                  call.ctx.clock())


def _named_or_this_group(call: CommandCall, command: str) -> tuple[ChatGroup, str]:
    """In a group: that group and all the arguments. In a private chat: the group the first argument names
    (its exact title or chat id, on the sender's platform) and the rest."""
    if call.incoming.chat_type is ChatType.GROUP:
        return _this_group(call, command), call.args
    name, _, rest = call.args.strip().partition(" ")
    if not name:
        raise UsageError
    platform = call.incoming.chat.platform
    found = [g for g in call.uow.groups.all() if g.platform == platform and g.active and name in (g.title, g.chat_id)]
    if len(found) != 1:
        known = "、".join(g.title or g.chat_id for g in call.uow.groups.all() if g.platform == platform and g.active)
        raise Refusal(call.t("cmd.out.group_unknown" if not found else "cmd.out.group_ambiguous",
                             name=name, groups=known[:300] or "-"))
    return found[0], rest


def risk(call: CommandCall) -> list[Action]:
    """/risk [on|off|warn N|mute MINUTES]: this group's risk policy, shown or changed."""
    group = _this_group(call, "/risk")
    parts = call.args.split()
    if parts == ["on"] or parts == ["off"]:
        group.risk_enabled = parts[0] == "on"
    elif len(parts) == 2 and parts[0] in ("warn", "mute") and parts[1].isdigit() and 0 < int(parts[1]) <= 100_000:
        if parts[0] == "warn":
            group.risk_warn_limit = int(parts[1])
        else:
            group.risk_restrict_minutes = int(parts[1])
    elif parts:
        raise UsageError
    call.uow.groups.save(group)
    policy = policy_for(call.ctx, group)
    state = call.t("cmd.out.risk_on" if group.risk_enabled else "cmd.out.risk_off")
    minutes = int(policy.restrict_for / timedelta(minutes=1))
    return [call.reply(call.t("cmd.out.risk_policy", state=state, warn=policy.warn_limit, mute=minutes))]


MAX_TAGS = 10


def tag(call: CommandCall) -> list[Action]:
    """/tag [TAG…] [-TAG…]: this group's tags, which announcements can target (/notice announcement #TAG …);
    in a private chat /tag GROUP [TAG…]."""
    group, args = _named_or_this_group(call, "/tag")
    tags = list(group.tags)
    for word in args.split():
        removing = word[0] in "-－"
        name = clean_tag(word[1:] if removing else word)
        if not name:
            raise UsageError
        if removing:
            tags = [existing for existing in tags if existing != name]
        elif name not in tags:
            tags.append(name)
    if len(tags) > MAX_TAGS:
        raise Refusal(call.t("cmd.out.tags_too_many", limit=MAX_TAGS))
    if tags != group.tags:
        group.tags = tags  # a new list, so the JSON column is written
        call.uow.groups.save(group)
    if not tags:
        return [call.reply(call.t("cmd.out.tags_none"))]
    return [call.reply(call.t("cmd.out.tags", tags="、".join(f"#{name}" for name in tags)))]
