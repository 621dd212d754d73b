"""Staff commands: bind a group, list and show tickets, accept, reply in the group, resolve."""

from __future__ import annotations

from datetime import timedelta

from handlers.commands.base import CommandCall, Refusal, UsageError, ticket_number
from handlers.risk import policy_for
from handlers.types import Action, ChatRef, ChatType, Send
from storage.models import Ticket, TicketEvent
from storage.repositories import OPEN_STATUSES

AREA_TYPES = ("city", "rural", "remote")


def bind(call: CommandCall) -> list[Action]:
    incoming = call.incoming
    if incoming.chat_type is not ChatType.GROUP:
        raise Refusal(call.t("cmd.group_only", command="/bind"))
    parts = call.args.split()
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
    group = call.uow.groups.ensure(incoming.chat.platform, incoming.chat.chat_id, incoming.chat_title, now)
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
    found = _find(call, call.args)
    texts = call.ctx.texts
    assignee = call.uow.staff.get(found.assignee_id) if found.assignee_id else None
    group = call.uow.groups.get(found.group_id) if found.group_id else None
    lines = [call.t("cmd.out.ticket_detail", number=found.id, kind=texts(f"kind.{found.kind}"),
                    status=texts(f"status.{found.status}"), customer=found.sender_name,
                    group=group.title if group else found.chat_id, text=found.text[:500],
                    assignee=assignee.name if assignee else "-",
                    due=texts.when(found.due_at) if found.due_at else "-")]
    for event in call.uow.tickets.events(found.id or 0)[-10:]:
        lines.append(call.t("cmd.out.event_line", at=texts.at(event.at),
                            action=texts(f"action.{event.action}"), note=event.note[:80]))
    return [call.reply("\n".join(lines))]


def accept(call: CommandCall) -> list[Action]:
    found = _find(call, call.args)
    _require(call, found, ("new", "reopened"), "accept")
    assert call.staff is not None
    now = call.ctx.clock()
    found.status, found.assignee_id, found.updated_at = "accepted", call.staff.id, now
    found.first_response_at = found.first_response_at or now
    _log(call, found, "accepted", "")
    name = call.staff.name
    return [call.reply(call.t("cmd.out.accepted", number=found.id, name=name)),
            _to_customer(found, call.t("cmd.out.accepted_customer", number=found.id, name=name))]


def reply(call: CommandCall) -> list[Action]:
    found, text = _ticket_and_text(call, "reply")
    now = call.ctx.clock()
    found.first_response_at = found.first_response_at or now
    if found.status in ("new", "accepted", "reopened"):
        found.status = "in_progress"
    found.updated_at = now
    _log(call, found, "replied", text)
    return [_to_customer(found, call.t("cmd.out.reply_customer", number=found.id, text=text)),
            call.reply(call.t("cmd.out.replied", number=found.id))]


def resolve(call: CommandCall) -> list[Action]:
    found, note = _ticket_and_text(call, "resolve")
    now = call.ctx.clock()
    found.status, found.resolved_at, found.updated_at = "resolved", now, now
    found.resolution = note
    found.first_response_at = found.first_response_at or now
    _log(call, found, "resolved", note)
    return [_to_customer(found, call.t("cmd.out.resolved_customer", number=found.id, note=note)),
            call.reply(call.t("cmd.out.resolved", number=found.id))]


def _ticket_and_text(call: CommandCall, verb: str) -> tuple[Ticket, str]:
    """`N free text`: the open ticket N and the text, or a usage error / refusal."""
    number, _, text = call.args.partition(" ")
    if not text.strip():
        raise UsageError
    found = _find(call, number)
    _require(call, found, OPEN_STATUSES, verb)
    return found, text.strip()


def _to_customer(found: Ticket, text: str) -> Send:
    """A message in the customer's group, quoting their appeal."""
    return Send(ChatRef(found.platform, found.chat_id), text, reply_to_message_id=found.source_message_id)


def _find(call: CommandCall, arg: str) -> Ticket:
    number = ticket_number(arg)
    found = call.uow.tickets.get(number)
    if found is None:
        raise Refusal(call.t("cmd.no_ticket", number=number))
    return found


def _require(call: CommandCall, found: Ticket, allowed: tuple[str, ...], verb: str) -> None:
    if found.status not in allowed:
        raise Refusal(call.t("cmd.out.bad_state", number=found.id, verb=call.t(f"cmd.verb.{verb}"),
                             status=call.t(f"status.{found.status}")))


def _log(call: CommandCall, found: Ticket, action: str, note: str) -> None:
    call.uow.tickets.save(found)
    actor = f"staff:{call.staff.id}" if call.staff else "system"
    call.uow.tickets.log(TicketEvent(ticket_id=found.id or 0, at=call.ctx.clock(), actor=actor,
                                     action=action, note=note))


def _line(call: CommandCall, found: Ticket) -> str:
    texts = call.ctx.texts
    return call.t("ticket.line", number=found.id, kind=texts(f"kind.{found.kind}"),
                  status=texts(f"status.{found.status}"), customer=found.sender_name, text=found.text[:40])


def risk(call: CommandCall) -> list[Action]:
    """/risk [on|off|warn N|mute MINUTES]: this group's risk policy, shown or changed."""
    incoming = call.incoming
    if incoming.chat_type is not ChatType.GROUP:
        raise Refusal(call.t("cmd.group_only", command="/risk"))
    group = call.uow.groups.ensure(incoming.chat.platform, incoming.chat.chat_id, incoming.chat_title,
                                   call.ctx.clock())
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
