"""Supervisors hear of block-level risk events at once, without being flooded, and not at night.

- A deleted (block-level) message alerts the supervisors of the group's station (and county supervisors)
  in their private chats, once per group per `risk_alert_gap`: a spammer hitting one group ten times is
  one alert; the digest counts them all.
- Inside the quiet hours only the urgent categories (fraud by default: scams aimed at elderly customers
  cannot wait for the morning) go out at once. The rest is summed up per supervisor in one message when the
  quiet hours end (an outbox row with a unique key per night and supervisor, so it is sent once).
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from handlers.context import Context
from handlers.outbox import to_row
from handlers.sla_watch import in_quiet_hours
from handlers.types import ChatRef, Outcome, Queued, Send
from storage.models import ChatGroup, RiskEvent, Staff
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
SUMMARY_STALE_AFTER = timedelta(hours=12)  # a service down all morning sends no stale night summary at dusk


def on_block(uow: UnitOfWork, ctx: Context, event: RiskEvent, group: ChatGroup, *, restricted: bool) -> list[Send]:
    """The supervisors' alert for a message just deleted, or nothing (quiet hours, or alerted recently)."""
    now = ctx.clock()
    if in_quiet_hours(ctx, now) and event.category not in ctx.risk_urgent:
        return []  # night_summary() tells them in the morning
    earlier = [e for e in uow.risk.blocked(now - ctx.risk_alert_gap, now, platform=group.platform,
                                           chat_id=group.chat_id) if e.id != event.id]
    if ctx.risk_alert_gap and earlier:
        return []
    t = ctx.texts
    minutes = int(ctx.risk_alert_gap / timedelta(minutes=1))
    key = "risk.supervisor_owner" if event.action == "owner_asked" else "risk.supervisor"
    text = t(key, group=group.title or group.chat_id, name=event.sender_name or event.sender_user_id,
             category=category_name(ctx, event.category),
             restricted=t("risk.supervisor_restricted") if restricted else "", excerpt=event.excerpt[:200],
             later=t("risk.supervisor_later", minutes=minutes) if minutes else "").rstrip()
    # The excerpt is masked when recorded; the private chat of a supervisor may show numbers otherwise.
    return [Send(ChatRef(person.platform, person.user_id), text, shows_numbers=True)
            for person in supervisors_of(uow, _station_of(uow, group))]


def night_summary(ctx: Context) -> Outcome:
    """The scheduler's sweep: after the quiet hours, one summary per supervisor of what was deleted in them."""
    if ctx.quiet_hours is None:
        return Outcome()
    now = ctx.clock()
    if in_quiet_hours(ctx, now):
        return Outcome()
    start, end = last_quiet_period(ctx, now)
    if now - end > SUMMARY_STALE_AFTER:
        return Outcome()
    outcome = Outcome()
    with ctx.uow() as uow:
        events = [e for e in uow.risk.blocked(start, end) if e.category not in ctx.risk_urgent]
        if not events:
            return outcome
        stations = _stations_by_chat(uow, events)
        for person in uow.staff.with_role("supervisor"):
            mine = [e for e in events if person.station_id is None
                    or stations.get((e.platform, e.chat_id)) in (None, person.station_id)]
            key = f"risk-night:{end.astimezone(ctx.tz).date().isoformat()}:{person.id}"
            if not mine or uow.digest.existing_keys([key]):
                continue
            send = Send(ChatRef(person.platform, person.user_id), _summary_text(uow, ctx, mine, start, end),
                        shows_numbers=True)
            row = to_row(send, now)
            row.dedupe_key = key
            stored = uow.outbox.add(row)
            outcome.queued.append(Queued(stored.id or 0, send))
        uow.commit()
    outcome.actions = [item.action for item in outcome.queued]
    if outcome.queued:
        log.info("queued %d overnight risk summaries", len(outcome.queued))
    return outcome


def last_quiet_period(ctx: Context, now: datetime) -> tuple[datetime, datetime]:
    """The most recent quiet period that has ended by `now` (local times, may span midnight)."""
    assert ctx.quiet_hours is not None
    quiet_start, quiet_end = ctx.quiet_hours
    local = now.astimezone(ctx.tz)
    end = datetime.combine(local.date(), quiet_end, tzinfo=ctx.tz)
    if end > local:
        end -= timedelta(days=1)
    start = datetime.combine(end.date(), quiet_start, tzinfo=ctx.tz)
    if start >= end:
        start -= timedelta(days=1)
    return start, end


def supervisors_of(uow: UnitOfWork, station_id: int | None) -> list[Staff]:
    """The station's supervisors and the county's; the admins when there are none."""
    return list(uow.staff.with_role("supervisor", station_id) or uow.staff.with_role("admin", station_id))


def category_name(ctx: Context, category: str) -> str:
    try:
        return ctx.texts(f"digest.risk_category.{category}")
    except KeyError:
        return category


def _station_of(uow: UnitOfWork, group: ChatGroup) -> int | None:
    area = uow.stations.area_by_id(group.area_id) if group.area_id else None
    return area.station_id if area is not None else None


def _stations_by_chat(uow: UnitOfWork, events: list[RiskEvent]) -> dict[tuple[str, str], int | None]:
    found: dict[tuple[str, str], int | None] = {}
    for event in events:
        key = (event.platform, event.chat_id)
        if key not in found:
            group = uow.groups.find(*key)
            found[key] = _station_of(uow, group) if group is not None else None
    return found


def _summary_text(uow: UnitOfWork, ctx: Context, events: list[RiskEvent], start: datetime, end: datetime) -> str:
    t = ctx.texts
    titles: dict[tuple[str, str], str] = {}
    for event in events:
        key = (event.platform, event.chat_id)
        if key not in titles:
            group = uow.groups.find(*key)
            titles[key] = (group.title if group is not None else "") or event.chat_id
    per_group = Counter(titles[(e.platform, e.chat_id)] for e in events)
    per_category = Counter(category_name(ctx, e.category) for e in events)
    separator = ", " if t.language == "en" else "、"
    return t("risk.night", start=f"{start.astimezone(ctx.tz):%H:%M}", end=f"{end.astimezone(ctx.tz):%H:%M}",
             count=len(events),
             groups=separator.join(t("risk.night_group", group=g, count=n) for g, n in per_group.most_common(6)),
             categories=separator.join(f"{c} {n}" for c, n in per_category.most_common(4)))
