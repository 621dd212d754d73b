"""/subscribe, /unsubscribe, /subscriptions: 供电信息订阅 (seed 003), in a private chat with the bot.

    /subscribe 台区名称       the notices of that 台区
    /subscribe 户号           the 台区 of the customer record with that 户号; an unknown 户号 is kept as it is and
                              matched whenever a notice is sent, so it starts working once the record is known
    /unsubscribe [台区或户号]  one subscription, or all of them
    /subscriptions            the list

Notices reach subscribers through handlers/notices.py (`_to_subscribers`), once per user and phase.
"""

from __future__ import annotations

import re

from handlers.commands.base import CommandCall, Refusal, UsageError
from handlers.types import Action, ChatType
from storage.models import Subscription

# 10 digits (State Grid) or 13 (some provinces), as handlers/extraction.py reads 户号; "户号:" may be typed too.
_ACCOUNT = re.compile(r"(?:户号[:：]?)?(\d{10}|\d{13})")


def subscribe(call: CommandCall) -> list[Action]:
    _private_only(call, "subscribe")
    arg = call.args.strip()
    if not arg:
        raise UsageError
    if account := _account(arg):
        customer = call.uow.customers.by_account_no(account)
        if customer is None or customer.deleted_at is not None or customer.area_id is None:
            # Not on record (yet): kept as a 户号 and matched against the customers when a notice goes out.
            added = _add(call, account_no=account)
            return [call.reply(call.t("sub.subscribed_account" if added else "sub.already_account", account=account))]
        area = call.uow.subscriptions.area_names([customer.area_id]).get(customer.area_id, "")
        added = _add(call, area_id=customer.area_id)
        key = "sub.subscribed_account_area" if added else "sub.already_area"
        return [call.reply(call.t(key, account=account, area=area))]
    area_ids = call.uow.notices.area_ids([arg])
    if not area_ids:
        raise Refusal(call.t("sub.area_not_found", name=arg))
    added_any = [_add(call, area_id=area_id) for area_id in sorted(area_ids)]  # a name in several stations: all
    return [call.reply(call.t("sub.subscribed_area" if any(added_any) else "sub.already_area", area=arg))]


def unsubscribe(call: CommandCall) -> list[Action]:
    _private_only(call, "unsubscribe")
    sender, arg = call.incoming.sender, call.args.strip()
    active = list(call.uow.subscriptions.of_user(sender.platform, sender.user_id))
    if not arg:
        if not active:
            return [call.reply(call.t("sub.none"))]
        _cancel(call, active)
        return [call.reply(call.t("sub.unsubscribed_all", count=len(active)))]
    if account := _account(arg):
        customer = call.uow.customers.by_account_no(account)
        area_id = customer.area_id if customer is not None and customer.deleted_at is None else None
        chosen = [s for s in active if s.account_no == account or (area_id is not None and s.area_id == area_id)]
    else:
        area_ids = call.uow.notices.area_ids([arg])
        # A 户号 whose customer lies in that 台区 would still bring its notices: it goes too.
        chosen = [s for s in active if s.area_id in area_ids or _area_of_account(call, s) in area_ids]
    if not chosen:
        return [call.reply(call.t("sub.not_subscribed", target=arg))]
    _cancel(call, chosen)
    return [call.reply(call.t("sub.unsubscribed", target=arg))]


def subscriptions(call: CommandCall) -> list[Action]:
    _private_only(call, "subscriptions")
    sender = call.incoming.sender
    active = call.uow.subscriptions.of_user(sender.platform, sender.user_id)
    if not active:
        return [call.reply(call.t("sub.none"))]
    names = call.uow.subscriptions.area_names({s.area_id for s in active if s.area_id is not None})
    lines = [call.t("sub.list_header")]
    for subscription in active:
        if subscription.area_id is not None:
            lines.append(call.t("sub.line_area", area=names.get(subscription.area_id, "")))
            continue
        area_id = _area_of_account(call, subscription)
        if area_id is None:
            lines.append(call.t("sub.line_account_pending", account=subscription.account_no))
        else:
            area = call.uow.subscriptions.area_names([area_id]).get(area_id, "")
            lines.append(call.t("sub.line_account", account=subscription.account_no, area=area))
    lines.append(call.t("sub.list_footer"))
    return [call.reply("\n".join(lines))]


# ------------------------------------------------------------------------------------------------ internals
def _private_only(call: CommandCall, name: str) -> None:
    """In a group the notices arrive anyway; a subscription is for the customer's own chat with the bot."""
    if call.incoming.chat_type is not ChatType.PRIVATE:
        raise Refusal(call.t("sub.private_only", command=f"/{name}"))


def _account(arg: str) -> str | None:
    match = _ACCOUNT.fullmatch(arg.replace(" ", ""))
    return match.group(1) if match else None


def _add(call: CommandCall, *, area_id: int | None = None, account_no: str | None = None) -> bool:
    """Subscribe (or subscribe again) to one target; False when it was active already."""
    sender, chat, now = call.incoming.sender, call.incoming.chat, call.ctx.clock()
    found = call.uow.subscriptions.find(sender.platform, sender.user_id, area_id=area_id, account_no=account_no)
    if found is not None and found.cancelled_at is None and found.chat_id == chat.chat_id:
        return False
    if found is None:
        found = Subscription(platform=sender.platform, user_id=sender.user_id, chat_id=chat.chat_id,
                             area_id=area_id, account_no=account_no, created_at=now)
    was_active = found.cancelled_at is None and found.id is not None
    found.chat_id, found.cancelled_at = chat.chat_id, None  # the private chat may have changed
    call.uow.subscriptions.save(found)
    return not was_active


def _cancel(call: CommandCall, chosen: list[Subscription]) -> None:
    now = call.ctx.clock()
    for subscription in chosen:
        subscription.cancelled_at = now
        call.uow.subscriptions.save(subscription)


def _area_of_account(call: CommandCall, subscription: Subscription) -> int | None:
    if subscription.account_no is None:
        return None
    customer = call.uow.customers.by_account_no(subscription.account_no)
    return customer.area_id if customer is not None and customer.deleted_at is None else None
