"""Risk control in groups: what a sensitive-word or leak hit does, decided before the appeal router.

- block: the message is deleted, the sender warned (the word is never repeated), the manager alerted, the
  supervisors too (handlers/risk_alerts.py: once per group per gap, urgent ones only at night);
  after `warn_limit` strikes within the window the sender is muted for a while.
- review: the manager gets the message with buttons to delete, warn or dismiss.
- log: recorded only.
- A customer's phone, ID or bank card number, or contact id, is deleted with a note on sharing it
  privately; the appeal in the same message still becomes a ticket.
Staff are never acted on; their hits are recorded. Every hit is a risk event.

Where the platform cannot delete or mute (WeCom customer groups, see handlers/channels.py), nothing is
pretended: the event is recorded as `owner_asked`, the group's owner gets a task to deal with it, and the
group hears nothing from the bot.
"""

from __future__ import annotations

from datetime import timedelta

from handlers import risk_alerts
from handlers.channels import capabilities
from handlers.context import Context, RiskPolicy
from handlers.privacy import mask_text
from handlers.types import Button, ChatRef, Delete, Incoming, Outcome, Restrict, Send
from sensitive_words import Hit, Level
from storage.models import ChatGroup, RiskEvent, Staff
from storage.uow import UnitOfWork

LEAKS = frozenset({"pii", "contact"})


def screen(uow: UnitOfWork, ctx: Context, incoming: Incoming, hits: list[Hit], group: ChatGroup,
           staff: Staff | None, outcome: Outcome) -> bool:
    """Act on the hits; True when the message was removed and must not reach the appeal router."""
    if not group.risk_enabled:  # the group's managers switched risk control off with /risk off
        return False
    if staff is not None:
        for hit in hits:
            _record(uow, ctx, incoming, hit, "staff")
        return False
    if _is_new_member(uow, ctx, group, incoming.sender.user_id):  # links and contact ids from newcomers
        hits = [_as_spam(h) if h.category == "contact" else h for h in hits]
    words = [h for h in hits if h.category not in LEAKS]
    worst = max(words, key=lambda h: h.level.rank) if words else None
    if worst is not None and worst.level is Level.BLOCK:
        _block(uow, ctx, incoming, worst, group, outcome)
        return True
    leaks = [h for h in hits if h.category in LEAKS]
    if leaks and not capabilities(incoming.chat.platform).deletes_messages:
        event = _record(uow, ctx, incoming, leaks[0], "owner_asked")
        outcome.actions += _owner_task(uow, ctx, incoming, event, group)
    elif leaks:
        _record(uow, ctx, incoming, leaks[0], "deleted")
        name = incoming.sender.display_name
        outcome.actions += [Delete(incoming.chat, incoming.message_id),
                            Send(incoming.chat, ctx.texts("risk.privacy", name=name))]
    if worst is not None and worst.level is Level.REVIEW:
        event = _record(uow, ctx, incoming, worst, "pending")
        _alert(uow, ctx, incoming, event, group, outcome, review=True)
    elif worst is not None:
        _record(uow, ctx, incoming, worst, "logged")
    return False


def _is_new_member(uow: UnitOfWork, ctx: Context, group: ChatGroup, user_id: str) -> bool:
    membership = uow.groups.open_membership(group.id or 0, user_id)
    joined = membership.joined_at if membership else None
    return joined is not None and ctx.clock() - joined < ctx.behaviour.limits.new_member


def _as_spam(hit: Hit) -> Hit:
    return Hit(f"new_member_{hit.word}", "ad", Level.BLOCK, hit.start, hit.end, hit.text)


def raid_alert(uow: UnitOfWork, ctx: Context, group: ChatGroup, joins: int) -> list[Send]:
    """Many joins in a short time: record it and tell the group's manager (a person decides)."""
    now = ctx.clock()
    uow.risk.add(RiskEvent(platform=group.platform, chat_id=group.chat_id, message_id="", sender_user_id="",
                           category="behaviour", level="review", word="raid", action="logged", at=now))
    manager = uow.staff.get(group.manager_id) if group.manager_id else None
    if manager is None:
        return []
    minutes = int(ctx.behaviour.limits.raid_window / timedelta(minutes=1))
    text = ctx.texts("risk.raid", group=group.title or group.chat_id, joins=joins, minutes=minutes)
    return [Send(ChatRef(manager.platform, manager.user_id), text)]


def _block(uow: UnitOfWork, ctx: Context, incoming: Incoming, hit: Hit, group: ChatGroup,
           outcome: Outcome) -> None:
    if not capabilities(incoming.chat.platform).deletes_messages:
        event = _record(uow, ctx, incoming, hit, "owner_asked")
        outcome.actions += _owner_task(uow, ctx, incoming, event, group)
        _alert(uow, ctx, incoming, event, group, outcome, review=False)
        outcome.actions += risk_alerts.on_block(uow, ctx, event, group, restricted=False)
        return
    event = _record(uow, ctx, incoming, hit, "deleted")
    name = incoming.sender.display_name
    outcome.actions += [Delete(incoming.chat, incoming.message_id),
                        Send(incoming.chat, ctx.texts("risk.deleted", name=name))]
    _alert(uow, ctx, incoming, event, group, outcome, review=False)
    consequences = strike_consequences(uow, ctx, incoming.chat, incoming.sender.user_id, name)
    outcome.actions += consequences
    restricted = any(isinstance(action, Restrict) for action in consequences)
    outcome.actions += risk_alerts.on_block(uow, ctx, event, group, restricted=restricted)


def _owner_task(uow: UnitOfWork, ctx: Context, incoming: Incoming, event: RiskEvent,
                group: ChatGroup) -> list[Send]:
    """The group's owner (else its manager) is asked to act, since the bot cannot; with the strike count, so
    they can tell a slip from a repeat offender."""
    owner = group.owner_user_id
    if owner is None and group.manager_id is not None:
        manager = uow.staff.get(group.manager_id)
        owner = manager.user_id if manager is not None and manager.platform == group.platform else None
    if owner is None:
        return []  # recorded; the manager's alert and the dashboard's review queue show it
    since = ctx.clock() - policy_for(ctx, group).window
    strikes = uow.risk.strikes(incoming.chat.platform, incoming.chat.chat_id, incoming.sender.user_id, since)
    text = ctx.texts("risk.owner_task", group=group.title or group.chat_id, name=incoming.sender.display_name,
                     category=risk_alerts.category_name(ctx, event.category), excerpt=event.excerpt[:200],
                     strikes=strikes)
    return [Send(ChatRef(group.platform, owner), text)]


def policy_for(ctx: Context, group: ChatGroup | None) -> RiskPolicy:
    """The station's policy with the group's own settings (from /risk) on top."""
    base = ctx.risk_policy
    if group is None:
        return base
    limit = group.risk_warn_limit or base.warn_limit
    mute = timedelta(minutes=group.risk_restrict_minutes) if group.risk_restrict_minutes else base.restrict_for
    return RiskPolicy(limit, base.window, mute)


def strike_consequences(uow: UnitOfWork, ctx: Context, chat: ChatRef, user_id: str,
                        name: str) -> list[Send | Restrict]:
    """A mute once the member has collected `warn_limit` strikes in the window (the new one included)."""
    policy, now = policy_for(ctx, uow.groups.find(chat.platform, chat.chat_id)), ctx.clock()
    if uow.risk.strikes(chat.platform, chat.chat_id, user_id, now - policy.window) < policy.warn_limit:
        return []
    minutes = int(policy.restrict_for / timedelta(minutes=1))
    return [Restrict(chat, user_id, now + policy.restrict_for),
            Send(chat, ctx.texts("risk.restricted", name=name, minutes=minutes))]


def _record(uow: UnitOfWork, ctx: Context, incoming: Incoming, hit: Hit, action: str) -> RiskEvent:
    return uow.risk.add(RiskEvent(
        platform=incoming.chat.platform, chat_id=incoming.chat.chat_id, message_id=incoming.message_id,
        sender_user_id=incoming.sender.user_id, sender_name=incoming.sender.display_name[:200],
        category=hit.category[:30], level=str(hit.level), word=hit.word[:100],
        excerpt=mask_text(incoming.text[:300]), action=action, at=ctx.clock()))


def _alert(uow: UnitOfWork, ctx: Context, incoming: Incoming, event: RiskEvent, group: ChatGroup,
           outcome: Outcome, *, review: bool) -> None:
    manager = uow.staff.get(group.manager_id) if group.manager_id else None
    if manager is None:
        return  # recorded; the dashboard's review queue shows it
    texts = ctx.texts
    values = {"group": group.title or group.chat_id, "name": incoming.sender.display_name,
              "excerpt": event.excerpt[:200], "category": event.category, "level": event.level}
    if not review:
        text = texts("risk.alert", action=texts(f"risk.action.{event.action}"), **values)
        outcome.actions.append(Send(ChatRef(manager.platform, manager.user_id), text))
        return
    choices = [("delete", "risk.button_delete")] if capabilities(group.platform).deletes_messages else []
    choices += [("warn", "risk.button_warn"), ("dismiss", "risk.button_dismiss")]
    buttons = (tuple(Button(texts(label), f"risk:{event.id}:{choice}") for choice, label in choices),)
    outcome.actions.append(Send(ChatRef(manager.platform, manager.user_id), texts("risk.review", **values),
                                buttons=buttons))
