"""Staff commands that move a ticket through its loop: accept, reply, wait, arrive, resolve, reopen,
cancel, merge, assign, note, urge, level. Illegal moves are refused with the ticket's current state."""

from __future__ import annotations

from datetime import timedelta

from handlers.appeals import expect_answer
from handlers.commands.base import CommandCall, Refusal, UsageError, ticket_number
from handlers.lifecycle import IllegalTransition, arrive, first_due, meet_clocks, move, note, staff_actor
from handlers.survey import ask as ask_survey
from handlers.tickets import link
from handlers.types import Action, ChatRef, Send
from storage.models import Staff, Ticket
from storage.repositories import OPEN_STATUSES

COMPLAINT_LEVELS = ("特殊", "重大", "重要", "一般")
URGE_INTERVAL = timedelta(minutes=30)  # one 催办 per ticket per half hour is enough to be heard
WAIT_ANSWER_FOR = timedelta(days=30)


def accept(call: CommandCall) -> list[Action]:
    found = find(call, call.args)
    staff = _me(call)
    previous = found.assignee_id
    found.assignee_id = staff.id
    _move(call, found, "accepted", data={"from_staff": previous} if previous != staff.id else None)
    return [call.reply(call.t("cmd.out.accepted", number=found.id, name=staff.name)),
            to_customer(found, call.t("cmd.out.accepted_customer", number=found.id, name=staff.name))]


def reply(call: CommandCall) -> list[Action]:
    found, text = _ticket_and_text(call)
    if found.status in ("new", "accepted", "reopened"):
        _move(call, found, "in_progress", note_text=text, action="replied")
    else:  # in progress or waiting for the customer: the state stays, the reply is on the timeline
        found.first_response_at = found.first_response_at or call.ctx.clock()
        meet_clocks(call.uow, found, call.ctx.clock(), "contact")
        note(call.uow, call.ctx, found, _actor(call), "replied", text)
    return [to_customer(found, call.t("cmd.out.reply_customer", number=found.id, text=text)),
            call.reply(call.t("cmd.out.replied", number=found.id))]


def wait(call: CommandCall) -> list[Action]:
    """Ask the customer for something; the clocks stop until they answer in the group."""
    found, question = _ticket_and_text(call)
    _move(call, found, "waiting_customer", note_text=question)
    expect_answer(call.ctx, found, call.ctx.clock() + WAIT_ANSWER_FOR)
    return [to_customer(found, call.t("cmd.out.wait_customer", number=found.id, text=question)),
            call.reply(call.t("cmd.out.waiting", number=found.id))]


def arrived(call: CommandCall) -> list[Action]:
    found = find(call, call.args)
    if found.status not in OPEN_STATUSES:
        raise _bad_state(call, found, "arrive")
    met = arrive(call.uow, call.ctx, found, _actor(call))
    if not met:
        raise Refusal(call.t("cmd.out.no_arrival_clock", number=found.id))
    found.due_at = first_due(call.uow, found)
    call.uow.tickets.save(found)
    due = call.ctx.texts.when(found.due_at) if found.due_at else "-"
    return [call.reply(call.t("cmd.out.arrived", number=found.id, due=due)),
            to_customer(found, call.t("cmd.out.arrived_customer", number=found.id))]


def resolve(call: CommandCall) -> list[Action]:
    found, text = _ticket_and_text(call)
    found.resolution = text
    _move(call, found, "resolved", note_text=text)
    actions: list[Action] = [
        to_customer(found, call.t("cmd.out.resolved_customer", number=found.id, note=text)),
        *_tell_linked(call, found, text),
        ask_survey(call.uow, call.ctx, found),
        call.reply(call.t("cmd.out.resolved", number=found.id)),
    ]
    return actions


def reopen(call: CommandCall) -> list[Action]:
    found, reason = _ticket_and_text(call)
    was_merged = found.status == "merged"
    _move(call, found, "reopened", note_text=reason)
    actions: list[Action] = [call.reply(call.t("cmd.out.reopened", number=found.id))]
    if was_merged:  # a report wrongly linked under another fault stands on its own again
        found.parent_id = None
        call.uow.tickets.save(found)
    assignee = call.uow.staff.get(found.assignee_id) if found.assignee_id else None
    if assignee is not None and call.staff is not None and assignee.id != call.staff.id:
        actions.append(to_staff(assignee, call.t("cmd.out.reopened_assignee", number=found.id,
                                                 name=call.staff.name, reason=reason)))
    return actions


def cancel(call: CommandCall) -> list[Action]:
    found, reason = _ticket_and_text(call)
    _move(call, found, "cancelled", note_text=reason)
    return [to_customer(found, call.t("cmd.out.cancelled_customer", number=found.id, reason=reason)),
            call.reply(call.t("cmd.out.cancelled", number=found.id))]


def merge(call: CommandCall) -> list[Action]:
    """/merge N P: ticket N reports the same thing as P; N's customer hears of P's resolution."""
    parts = call.args.split()
    if len(parts) != 2:
        raise UsageError
    child, parent = find(call, parts[0]), find(call, parts[1])
    if child.id == parent.id or parent.parent_id is not None or parent.status not in OPEN_STATUSES:
        raise Refusal(call.t("cmd.out.merge_bad_parent", number=parent.id))
    if call.uow.tickets.children(child.id or 0):
        raise Refusal(call.t("cmd.out.merge_has_children", number=child.id))
    child.parent_id = parent.id
    _move(call, child, "merged", data={"parent": parent.id})
    link(call.uow, call.ctx, child, parent, _actor(call))
    return [call.reply(call.t("cmd.out.merged", number=child.id, parent=parent.id)),
            to_customer(child, call.t("cmd.out.merged_customer", number=child.id, parent=parent.id))]


def assign(call: CommandCall) -> list[Action]:
    """/assign N USER_ID: hand the ticket over; the history keeps who had it."""
    parts = call.args.split()
    if len(parts) != 2:
        raise UsageError
    found = find(call, parts[0])
    if found.status not in OPEN_STATUSES:
        raise _bad_state(call, found, "assign")
    target = call.uow.staff.find(call.incoming.chat.platform, parts[1])
    if target is None or target.role not in ("grid_manager", "supervisor"):
        raise Refusal(call.t("cmd.out.bind_unknown_manager", user_id=parts[1]))
    previous = found.assignee_id
    found.assignee_id = target.id
    note(call.uow, call.ctx, found, _actor(call), "reassigned", data={"from_staff": previous, "to_staff": target.id})
    by = call.staff.name if call.staff else "-"
    return [call.reply(call.t("cmd.out.assigned", number=found.id, name=target.name)),
            to_staff(target, call.t("cmd.out.assigned_to_you", number=found.id, by=by,
                                    kind=call.ctx.texts(f"kind.{found.kind}"), text=found.text[:200]))]


def internal_note(call: CommandCall) -> list[Action]:
    """/note N text: for staff eyes only, never sent to the group."""
    found, text = _ticket_and_text(call)
    note(call.uow, call.ctx, found, _actor(call), "noted", text)
    return [call.reply(call.t("cmd.out.noted", number=found.id))]


def urge(call: CommandCall) -> list[Action]:
    """/urge N [words]: 催办 — press the assignee of a colleague's ticket."""
    number, _, words = call.args.partition(" ")
    found = find(call, number)
    if found.status not in OPEN_STATUSES:
        raise _bad_state(call, found, "urge")
    assignee = call.uow.staff.get(found.assignee_id) if found.assignee_id else None
    if assignee is None:
        raise Refusal(call.t("cmd.out.urge_nobody", number=found.id))
    now = call.ctx.clock()
    recent = [e for e in call.uow.tickets.events(found.id or 0) if e.action == "urged" and now - e.at < URGE_INTERVAL]
    if recent:
        raise Refusal(call.t("cmd.out.urge_recent", number=found.id))
    note(call.uow, call.ctx, found, _actor(call), "urged", words.strip())
    by = call.staff.name if call.staff else "-"
    due = call.ctx.texts.when(found.due_at) if found.due_at else "-"
    return [to_staff(assignee, call.t("cmd.out.urge_assignee", number=found.id, by=by, due=due,
                                      words=words.strip() or "-", text=found.text[:200])),
            call.reply(call.t("cmd.out.urged", number=found.id, name=assignee.name))]


def level(call: CommandCall) -> list[Action]:
    """/level N 特殊|重大|重要|一般: a complaint's level; 特殊 and 重大 go to the county at once."""
    parts = call.args.split()
    if len(parts) != 2 or parts[1] not in COMPLAINT_LEVELS:
        raise UsageError
    found = find(call, parts[0])
    if found.kind != "complaint" or found.status not in OPEN_STATUSES:
        raise Refusal(call.t("cmd.out.level_complaints_only", number=found.id))
    found.level = parts[1]
    note(call.uow, call.ctx, found, _actor(call), "leveled", parts[1])
    return [call.reply(call.t("cmd.out.leveled", number=found.id, level=parts[1]))]


def find(call: CommandCall, arg: str) -> Ticket:
    number = ticket_number(arg)
    found = call.uow.tickets.get(number)
    if found is None:
        raise Refusal(call.t("cmd.no_ticket", number=number))
    return found


def to_customer(found: Ticket, text: str) -> Send:
    """A message in the customer's group, quoting their appeal."""
    return Send(ChatRef(found.platform, found.chat_id), text, reply_to_message_id=found.source_message_id)


def to_staff(staff: Staff, text: str) -> Send:
    return Send(ChatRef(staff.platform, staff.user_id), text, shows_numbers=True)


def _tell_linked(call: CommandCall, parent: Ticket, text: str) -> list[Action]:
    """Resolving a fault tells every customer whose report was linked to it: one message per group."""
    by_chat: dict[tuple[str, str], list[Ticket]] = {}
    for child in call.uow.tickets.children(parent.id or 0):
        if child.status == "merged":
            by_chat.setdefault((child.platform, child.chat_id), []).append(child)
            note(call.uow, call.ctx, child, _actor(call), "parent_resolved", text, data={"parent": parent.id})
    actions: list[Action] = []
    for children in by_chat.values():
        names = "、".join(dict.fromkeys(child.sender_name or "-" for child in children))
        actions.append(to_customer(children[0], call.t(
            "cmd.out.resolved_linked", names=names, kind=call.ctx.texts(f"kind.{parent.kind}"),
            number=parent.id, note=text)))
    return actions


def _ticket_and_text(call: CommandCall) -> tuple[Ticket, str]:
    """`N free text`: ticket N and the text, or a usage error / refusal."""
    number, _, text = call.args.partition(" ")
    if not text.strip():
        raise UsageError
    return find(call, number), text.strip()


def _move(call: CommandCall, found: Ticket, target: str, *, note_text: str = "", action: str | None = None,
          data: dict[str, object] | None = None) -> None:
    try:
        move(call.uow, call.ctx, found, target, _actor(call), note=note_text, action=action, data=data)
    except IllegalTransition:
        raise _bad_state(call, found, target) from None
    found.due_at = first_due(call.uow, found)
    call.uow.tickets.save(found)


def _bad_state(call: CommandCall, found: Ticket, verb: str) -> Refusal:
    return Refusal(call.t("cmd.out.bad_state", number=found.id, verb=call.t(f"cmd.verb.{verb}"),
                          status=call.t(f"status.{found.status}")))


def _me(call: CommandCall) -> Staff:
    assert call.staff is not None  # the table lets only staff run these commands
    return call.staff


def _actor(call: CommandCall) -> str:
    return staff_actor(call.staff.id if call.staff else None)
