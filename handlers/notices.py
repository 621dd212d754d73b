"""Outage notices (停电通知) and announcements: planning their phases, firing them to the groups of the
affected areas, changing and cancelling them, and the publisher's delivery report.

A notice is planned as phases (notice_phase rows): on publication, the day before, shortly before the
start, at the start; restoration is announced when a manager says so. The scheduler fires each pending
phase once (scheduler/notice_schedule.py); firing writes one outbox row per group with a unique key, so a
phase fired twice (a crash, two instances) still reaches each group once. A change or a cancellation drops
the phases that no longer apply and is announced again to every group that heard of the notice.
Subscribers (供电信息订阅, /subscribe) of the notice's areas get the same text in their private chat, once per
user and phase, under their own keys (`_to_subscribers`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handlers.context import Context
from handlers.outbox import to_row
from handlers.types import ChatRef, Outcome, Queued, Send
from storage.models import ChatGroup, Notice, NoticePhase, OutboxMessage, Subscription
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
KINDS = ("planned", "temporary", "fault", "announcement")
OUTAGE_KINDS = ("planned", "temporary", "fault")
# The legal notice periods (电力供应与使用条例 Art. 28, 供电监管办法 Art. 13; practice for temporary work).
NOTICE_PERIOD = {"planned": timedelta(days=7), "temporary": timedelta(hours=24)}
LATE_AFTER = timedelta(minutes=5)  # a phase fired later than this says it is late
SUBSCRIBER_KEY = ":sub:"  # in the key of a subscriber's row: "notice:<phase>:sub:<subscription>"


@dataclass
class Draft:
    kind: str
    areas: list[str] = field(default_factory=list)
    start_at: datetime | None = None
    end_at: datetime | None = None
    reason: str = ""
    contact: str = ""
    lines: list[str] = field(default_factory=list)
    villages: list[str] = field(default_factory=list)
    text: str = ""
    all_groups: bool = False
    # An announcement may also go to the groups tagged so (/tag), or to every group of the named stations.
    tags: list[str] = field(default_factory=list)
    stations: list[str] = field(default_factory=list)


class NoticeError(ValueError):
    """A notice that cannot be published as asked; the message says why, in the user's language."""


@dataclass(frozen=True, slots=True)
class Published:
    notice: Notice
    phases: list[NoticePhase]
    groups: int
    warning: str
    outcome: Outcome


def create(uow: UnitOfWork, ctx: Context, draft: Draft, staff_id: int | None) -> Published:
    """Validate, store and plan a notice; the publication phase fires at once (caller commits)."""
    now = ctx.clock()
    _validate(ctx, draft, now)
    station_ids = _station_ids(uow, ctx, draft.stations)
    notice = uow.notices.add(Notice(
        kind=draft.kind, areas=draft.areas, lines=draft.lines, villages=draft.villages,
        all_groups=draft.all_groups, tags=draft.tags, station_ids=station_ids, start_at=draft.start_at,
        end_at=draft.end_at, reason=draft.reason,
        contact=draft.contact, text=draft.text, warning=_short_notice(ctx, draft, now), created_by=staff_id,
        created_at=now, updated_at=now))
    phases = _plan(uow, ctx, notice, now, first="published")
    outcome = _fire_now(uow, ctx, phases[0], now)
    groups = len(resolve_groups(uow, notice))
    if groups == 0:
        notice.warning = "\n".join(filter(None, [notice.warning, ctx.texts("notice.no_groups")]))
        uow.notices.save(notice)
    return Published(notice, phases, groups, notice.warning, outcome)


def change(uow: UnitOfWork, ctx: Context, notice: Notice, start_at: datetime | None, end_at: datetime | None,
           reason: str) -> Published:
    """New times (and why): old reminders are dropped, the change goes to every group that heard of it."""
    if notice.status != "scheduled":
        raise _not_scheduled(ctx, notice)
    now = ctx.clock()
    draft = Draft(notice.kind, notice.areas, start_at or notice.start_at, end_at or notice.end_at,
                  notice.reason, notice.contact, notice.lines, notice.villages, notice.text, notice.all_groups,
                  notice.tags, list(uow.stations.names(notice.station_ids).values()))
    # An outage under way may still be extended (延时送电): its start, unchanged, may have passed.
    _validate(ctx, draft, now, started=draft.start_at == notice.start_at)
    _drop_pending(uow, notice, ctx.texts("notice.dropped_changed"))
    notice.start_at, notice.end_at = draft.start_at, draft.end_at
    notice.version += 1
    notice.updated_at = now
    notice.warning = _short_notice(ctx, draft, now)
    uow.notices.save(notice)
    phases = _plan(uow, ctx, notice, now, first="changed", note=reason)
    outcome = _fire_now(uow, ctx, phases[0], now)
    return Published(notice, phases, phases[0].groups, notice.warning, outcome)  # groups, not subscribers


def cancel(uow: UnitOfWork, ctx: Context, notice: Notice, reason: str) -> Published:
    if notice.status != "scheduled":
        raise _not_scheduled(ctx, notice)
    now = ctx.clock()
    _drop_pending(uow, notice, ctx.texts("notice.dropped_cancelled"))
    notice.status, notice.updated_at, notice.version = "cancelled", now, notice.version + 1
    uow.notices.save(notice)
    phase = uow.notices.add_phase(NoticePhase(notice_id=notice.id or 0, phase="cancelled", version=notice.version,
                                              due_at=now, note=reason))
    outcome = _fire_now(uow, ctx, phase, now)
    return Published(notice, [phase], phase.groups, "", outcome)


def restore(uow: UnitOfWork, ctx: Context, notice: Notice, note: str = "") -> Published:
    """Power is back: tell the same groups, and stop the reminders still pending."""
    if notice.kind not in OUTAGE_KINDS or notice.status != "scheduled":
        raise _not_scheduled(ctx, notice)
    now = ctx.clock()
    _drop_pending(uow, notice, ctx.texts("notice.dropped_restored"))
    notice.status, notice.restored_at, notice.updated_at = "finished", now, now
    uow.notices.save(notice)
    phase = uow.notices.add_phase(NoticePhase(notice_id=notice.id or 0, phase="restored", version=notice.version,
                                              due_at=now, note=note))
    outcome = _fire_now(uow, ctx, phase, now)
    return Published(notice, [phase], phase.groups, "", outcome)


def pending_phases(ctx: Context) -> list[NoticePhase]:
    with ctx.uow() as uow:
        return list(uow.notices.pending_phases())


def fire(ctx: Context, phase_id: int) -> Outcome:
    """Fire one scheduled phase in its own transaction (the scheduler's job)."""
    now = ctx.clock()
    with ctx.uow() as uow:
        phase = uow.notices.phase(phase_id)
        if phase is None or phase.status != "pending":
            return Outcome()
        if phase.useful_until is not None and now > phase.useful_until:
            _mark_skipped(uow, phase, now, ctx.texts("notice.skipped_late"))
            uow.commit()
            return Outcome()
        outcome = _fire_now(uow, ctx, phase, now)
        uow.commit()
    log.info("notice phase %s (%s) fired to %d groups, %d messages in all", phase_id, phase.phase, phase.groups,
             len(outcome.actions))
    return outcome


def skip(ctx: Context, phase_id: int, note: str) -> None:
    with ctx.uow() as uow:
        phase = uow.notices.phase(phase_id)
        if phase is not None and phase.status == "pending":
            _mark_skipped(uow, phase, ctx.clock(), note)
            uow.commit()


@dataclass(frozen=True, slots=True)
class PhaseReport:
    phase: NoticePhase
    sent: int
    pending: int
    failed: list[tuple[str, str]]  # (group title, error)
    # Subscribers' private chats, counted apart so the figures above stay those of the groups.
    subscribers_sent: int = 0
    subscribers_pending: int = 0
    subscribers_failed: int = 0
    # WeCom groups: a 群发 task reaches a group only when its owner confirms it; what WeCom reports per group
    # (waiting | sent | over_quota | failed), read back by the WeCom channel.
    owner_confirmed: dict[str, int] = field(default_factory=dict)


def delivery_report(uow: UnitOfWork, notice_id: int) -> list[PhaseReport]:
    """Per phase: groups reached, still pending, failed and why; subscribers' private chats apart."""
    titles = {group.chat_id: group.title for group in uow.groups.all()}
    reports = []
    phases = uow.notices.phases(notice_id)
    confirmed = uow.wecom.phase_states([phase.id for phase in phases if phase.id is not None])
    for phase in phases:
        rows: list[OutboxMessage] = []
        private: list[OutboxMessage] = []
        for row in uow.notices.outbox_rows(phase.id or 0):
            (private if SUBSCRIBER_KEY in (row.dedupe_key or "") else rows).append(row)
        failed = [(titles.get(row.chat_id, row.chat_id), row.error) for row in rows if row.failed_at is not None]
        sent = sum(row.sent_at is not None for row in rows)
        private_sent = sum(row.sent_at is not None for row in private)
        private_failed = sum(row.failed_at is not None for row in private)
        reports.append(PhaseReport(phase, sent, len(rows) - sent - len(failed), failed, private_sent,
                                   len(private) - private_sent - private_failed, private_failed,
                                   dict(confirmed.get(phase.id or 0, {}))))
    return reports


def render(ctx: Context, notice: Notice, phase: NoticePhase, now: datetime) -> str:
    texts = ctx.texts
    header = texts(f"notice.header.{notice.kind if notice.kind == 'announcement' else 'outage'}.{phase.phase}",
                   minutes=_minutes(phase, notice))
    lines = [header]
    if phase.note and phase.phase in ("changed", "cancelled", "restored"):
        lines.append(texts("notice.line.note", note=phase.note))
    if notice.kind == "announcement":
        lines.append(notice.text)
    else:
        lines.append(texts("notice.line.kind", kind=texts(f"notice.kind.{notice.kind}")))
        place = "、".join([*notice.areas, *notice.villages]) or "-"
        lines.append(texts("notice.line.where", place=place))
        if notice.lines:
            lines.append(texts("notice.line.lines", lines="、".join(notice.lines)))
        if notice.start_at is not None:
            end = texts.at(notice.end_at) if notice.end_at else texts("notice.until_restored")
            lines.append(texts("notice.line.when", start=texts.at(notice.start_at), end=end))
        if notice.reason:
            lines.append(texts("notice.line.reason", reason=notice.reason))
    if notice.contact:
        lines.append(texts("notice.line.contact", contact=notice.contact))
    if now - phase.due_at > LATE_AFTER:
        lines.append(texts("notice.line.late", due=texts.at(phase.due_at)))
    lines.append(texts("notice.line.number", number=notice.id))
    return "\n".join(lines)


def resolve_groups(uow: UnitOfWork, notice: Notice) -> list[ChatGroup]:
    """The active groups a notice is for: those bound to its areas or to an area of its stations, those
    carrying one of its tags, or every group for an announcement to all."""
    groups = [group for group in uow.groups.all() if group.active]
    if notice.all_groups:
        return groups
    area_ids = uow.notices.area_ids(notice.areas) | uow.stations.area_ids_of(notice.station_ids)
    tags = set(notice.tags)
    return [group for group in groups if group.area_id in area_ids or tags.intersection(group.tags)]


# ------------------------------------------------------------------------------------------------ internals
def _validate(ctx: Context, draft: Draft, now: datetime, *, started: bool = False) -> None:
    if draft.kind not in KINDS:
        raise NoticeError(ctx.texts("notice.bad_kind", kinds=" | ".join(KINDS)))
    if draft.kind == "announcement":
        if not draft.text.strip():
            raise NoticeError(ctx.texts("notice.no_text"))
        if not (draft.all_groups or draft.areas or draft.tags or draft.stations):
            raise NoticeError(ctx.texts("notice.no_audience"))
        return
    if draft.tags or draft.stations:
        raise NoticeError(ctx.texts("notice.targets_announcement_only"))
    if not draft.areas:
        raise NoticeError(ctx.texts("notice.no_areas"))
    if draft.start_at is None:
        raise NoticeError(ctx.texts("notice.no_start"))
    if draft.end_at is not None and draft.end_at <= draft.start_at:
        raise NoticeError(ctx.texts("notice.end_before_start"))
    if draft.kind != "fault" and draft.start_at <= now and not started:
        raise NoticeError(ctx.texts("notice.start_passed"))


def _station_ids(uow: UnitOfWork, ctx: Context, names: list[str]) -> list[int]:
    ids = []
    for name in names:
        station = uow.stations.by_name(name)
        if station is None:
            raise NoticeError(ctx.texts("notice.unknown_station", name=name))
        ids.append(station.id or 0)
    return ids


def _short_notice(ctx: Context, draft: Draft, now: datetime) -> str:
    """Accepted, but the publisher is told when the law's notice period is not met."""
    period = NOTICE_PERIOD.get(draft.kind)
    if period is None or draft.start_at is None or draft.start_at <= now or draft.start_at - now >= period:
        return ""  # a start already passed (an outage extended) is not a short notice
    return ctx.texts(f"notice.short_{draft.kind}", given=_hours(draft.start_at - now))


def _plan(uow: UnitOfWork, ctx: Context, notice: Notice, now: datetime, *, first: str,
          note: str = "") -> list[NoticePhase]:
    """The phases of the notice's current version, the first (publication or change) due now."""
    start, end = notice.start_at, notice.end_at
    planned: list[tuple[str, datetime, datetime | None]] = []
    if notice.kind == "announcement" and start is not None and start > now:
        planned.append((first, start, None))  # an announcement scheduled for later
    else:
        planned.append((first, now, None))
    if notice.kind in ("planned", "temporary") and start is not None:
        local_start = start.astimezone(ctx.tz)
        day_before = datetime.combine(local_start.date() - timedelta(days=1), ctx.notice_day_before_at, tzinfo=ctx.tz)
        if now < day_before and start - day_before > ctx.notice_soon_before:
            planned.append(("day_before", day_before, start))
        soon = start - ctx.notice_soon_before
        if now < soon:
            planned.append(("soon", soon, start))
        if now < start:  # a change while the outage is under way: its start was announced already
            planned.append(("start", start, end or start + timedelta(hours=1)))
    phases = []
    for name, due, useful in planned:
        phases.append(uow.notices.add_phase(NoticePhase(
            notice_id=notice.id or 0, phase=name, version=notice.version, due_at=due, useful_until=useful,
            note=note if name == first else "")))
    return phases


def _fire_now(uow: UnitOfWork, ctx: Context, phase: NoticePhase, now: datetime) -> Outcome:
    """Write one outbox row per group (each once, by its key) and mark the phase sent (caller commits)."""
    notice = uow.notices.get(phase.notice_id)
    if notice is None or phase.due_at > now:  # e.g. an announcement scheduled for later: the scheduler fires it
        return Outcome()
    groups = _audience(uow, notice, phase)
    text = render(ctx, notice, phase, now)
    written = uow.notices.outbox_keys(phase.id or 0)
    queued: list[Queued] = []
    for group in groups:
        key = f"notice:{phase.id}:{group.id}"
        if key in written:
            continue
        # Not masked: the contact number is published on purpose (masking is for customers' own numbers).
        row = to_row(Send(ChatRef(group.platform, group.chat_id), text, shows_numbers=True), now)
        row.dedupe_key, row.notice_phase_id = key, phase.id
        stored = uow.outbox.add(row)
        queued.append(Queued(stored.id or 0, Send(ChatRef(group.platform, group.chat_id), stored.text,
                                                  shows_numbers=True)))
    queued += _to_subscribers(uow, notice, phase, text, now)
    phase.status, phase.fired_at, phase.groups = "sent", now, len(groups)
    uow.notices.save_phase(phase)
    return Outcome(actions=[item.action for item in queued], queued=queued)


def _to_subscribers(uow: UnitOfWork, notice: Notice, phase: NoticePhase, text: str, now: datetime) -> list[Queued]:
    """One row per subscriber's private chat, keyed by one of their subscriptions; a user several of whose
    subscriptions match (an area and a 户号 in it) still gets the phase once."""
    if notice.all_groups:
        found = list(uow.subscriptions.active())
    else:  # a subscriber to an area hears what its groups hear, tagged announcements included
        areas = {group.area_id for group in resolve_groups(uow, notice) if group.area_id is not None}
        found = list(uow.subscriptions.for_areas(areas | uow.notices.area_ids(notice.areas)))
    if phase.phase in ("changed", "cancelled", "restored"):  # like groups: whoever heard of it hears again
        found += uow.subscriptions.by_ids(uow.subscriptions.reached(notice.id or 0))
    by_user: dict[tuple[str, str], list[Subscription]] = {}
    for subscription in found:
        by_user.setdefault((subscription.platform, subscription.user_id), []).append(subscription)
    written = uow.notices.outbox_keys(phase.id or 0)
    queued: list[Queued] = []
    for subscriptions in by_user.values():
        keys = [f"notice:{phase.id}{SUBSCRIBER_KEY}{s.id}" for s in sorted(subscriptions, key=lambda s: s.id or 0)]
        if written.intersection(keys):  # fired before, perhaps under another of the user's subscriptions
            continue
        chat = ChatRef(subscriptions[0].platform, subscriptions[0].chat_id)
        # A private chat: the published contact number stays readable, as in the groups.
        row = to_row(Send(chat, text, shows_numbers=True), now)
        row.dedupe_key, row.notice_phase_id = keys[0], phase.id
        stored = uow.outbox.add(row)
        queued.append(Queued(stored.id or 0, Send(chat, stored.text, shows_numbers=True)))
    return queued


def _audience(uow: UnitOfWork, notice: Notice, phase: NoticePhase) -> list[ChatGroup]:
    """Today's groups of the notice, plus, for a change or cancellation, every group that heard of it before."""
    groups = {group.id: group for group in resolve_groups(uow, notice)}
    if phase.phase in ("changed", "cancelled", "restored"):
        for group in uow.notices.groups_reached(notice.id or 0):
            groups.setdefault(group.id, group)
    return list(groups.values())


def _not_scheduled(ctx: Context, notice: Notice) -> NoticeError:
    status = ctx.texts(f"notice.out.status.{notice.status}")  # 已取消, not the stored word "cancelled"
    return NoticeError(ctx.texts("notice.not_scheduled", number=notice.id, status=status))


def _drop_pending(uow: UnitOfWork, notice: Notice, note: str) -> None:
    for phase in uow.notices.phases(notice.id or 0):
        if phase.status == "pending":
            phase.status, phase.note = "dropped", note
            uow.notices.save_phase(phase)


def _mark_skipped(uow: UnitOfWork, phase: NoticePhase, now: datetime, note: str) -> None:
    phase.status, phase.fired_at, phase.note = "skipped", now, note
    uow.notices.save_phase(phase)
    log.warning("notice phase %s (%s, due %s) skipped: %s", phase.id, phase.phase, phase.due_at, note)


def _minutes(phase: NoticePhase, notice: Notice) -> int:
    if phase.phase == "soon" and notice.start_at is not None:
        return max(1, round((notice.start_at - phase.due_at).total_seconds() / 60))
    return 0


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f}" if hours >= 1 else f"{hours:.1f}"
