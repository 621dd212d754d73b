"""Supervisors' digests: a short daily and weekly summary in plain Chinese, sent once per period.

Daily (at `digest_at`, covering the previous local day) and weekly (Mondays, covering the previous seven
days): new, open, overdue and escalated tickets by manager; satisfaction; risk events by category; notices
sent and failed; the most overdue tickets. Each digest is an outbox row with a unique key
("digest:daily:2026-11-24:<staff>"), so a restart or a second instance never sends it twice; a service that
was down at digest time sends it when it comes back the same day.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from handlers.channels import capabilities
from handlers.context import Context
from handlers.outbox import to_row
from handlers.types import ChatRef, Outcome, Queued, Send
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    from handlers.digest_chart import ChartInput

log = logging.getLogger(__name__)
TOP_OVERDUE = 5
CHART_DAYS = 14


@dataclass(frozen=True, slots=True)
class DigestFigures:
    title: str
    start: datetime
    end: datetime
    opened: int
    open_now: int
    overdue_now: int
    escalations: int
    scores: list[int]
    risk_by_category: Counter[str]
    risk_deleted: int
    risk_pending: int
    notices_fired: int
    notice_messages_sent: int
    notice_messages_failed: int
    by_manager: list[tuple[str, int, int]]  # name, open, overdue
    most_overdue: list[tuple[int, str, str, timedelta]] = field(default_factory=list)  # number, kind, who, by


def figures(uow: UnitOfWork, ctx: Context, title: str, start: datetime, end: datetime) -> DigestFigures:
    now = ctx.clock()
    open_rows = uow.digest.open_tickets(now)
    names = {staff.id: staff.name for staff in uow.staff.all()}
    per_manager: dict[str, list[int]] = {}
    for row in open_rows:
        counts = per_manager.setdefault(names.get(row.assignee_id or -1, "-"), [0, 0])
        counts[0] += 1
        counts[1] += row.overdue_since is not None
    overdue = sorted((row for row in open_rows if row.overdue_since is not None),
                     key=lambda row: row.overdue_since or now)[:TOP_OVERDUE]
    risks = uow.digest.risk_events(start, end)
    fired, sent, failed = uow.digest.notice_rows(start, end)
    return DigestFigures(
        title=title, start=start, end=end, opened=uow.digest.opened_count(start, end), open_now=len(open_rows),
        overdue_now=sum(row.overdue_since is not None for row in open_rows),
        escalations=uow.digest.escalations(start, end), scores=uow.digest.scores(start, end),
        risk_by_category=Counter(category for category, _ in risks),
        risk_deleted=sum(action in ("deleted", "restricted", "owner_asked") for _, action in risks),
        risk_pending=sum(action == "pending" for _, action in risks),
        notices_fired=fired, notice_messages_sent=sent, notice_messages_failed=failed,
        by_manager=sorted(((name, c[0], c[1]) for name, c in per_manager.items()), key=lambda x: (-x[2], -x[1])),
        most_overdue=[(row.ticket_id, row.kind, names.get(row.assignee_id or -1, "-"),
                       now - (row.overdue_since or now)) for row in overdue],
    )


def render(ctx: Context, f: DigestFigures) -> str:
    t = ctx.texts
    lines = [t("digest.title", title=f.title, station=ctx.station_name)]
    lines.append(t("digest.tickets", opened=f.opened, open=f.open_now, overdue=f.overdue_now,
                   escalated=f.escalations))
    for name, open_count, overdue in f.by_manager[:8]:
        lines.append(t("digest.manager", name=name, open=open_count, overdue=overdue))
    if f.scores:
        satisfied = sum(score >= 4 for score in f.scores) / len(f.scores)
        lines.append(t("digest.satisfaction", count=len(f.scores), satisfied=f"{satisfied:.0%}",
                       mean=f"{sum(f.scores) / len(f.scores):.1f}"))
    else:
        lines.append(t("digest.no_ratings"))
    if f.risk_by_category:
        categories = "、".join(f"{t(f'digest.risk_category.{c}') if _known(ctx, c) else c} {n}"
                              for c, n in f.risk_by_category.most_common(4))
        lines.append(t("digest.risk", count=sum(f.risk_by_category.values()), deleted=f.risk_deleted,
                       pending=f.risk_pending, categories=categories))
    if f.notices_fired:
        lines.append(t("digest.notices", fired=f.notices_fired, sent=f.notice_messages_sent,
                       failed=f.notice_messages_failed))
    for number, kind, who, by in f.most_overdue:
        lines.append(t("digest.overdue_line", number=number, kind=t(f"kind.{kind}"), name=who,
                       hours=max(1, round(by.total_seconds() / 3600))))
    return "\n".join(lines)


def send_due(ctx: Context) -> Outcome:
    """The scheduler's sweep: queue today's daily digest (and Monday's weekly one) once per supervisor."""
    now = ctx.clock()
    local = now.astimezone(ctx.tz)
    if local.time() < ctx.digest_at:
        return Outcome()
    today = local.date()
    due = [("daily", today, today - timedelta(days=1), today)]
    if today.weekday() == 0:
        due.append(("weekly", today, today - timedelta(days=7), today))
    outcome = Outcome()
    with ctx.uow() as uow:
        supervisors = uow.staff.with_role("supervisor")
        for period, day, first, last in due:
            keys = {person.id: f"digest:{period}:{day.isoformat()}:{person.id}" for person in supervisors}
            sent = uow.digest.existing_keys(list(keys.values()))
            missing = [person for person in supervisors if keys[person.id] not in sent]
            if not missing:
                continue
            start, end = _instant(ctx, first), _instant(ctx, last)
            title = ctx.texts(f"digest.{period}", day=_day(ctx, first), last=_day(ctx, last - timedelta(days=1)))
            found = figures(uow, ctx, title, start, end)
            if _quiet(found):  # supervisors want signal: a day with nothing in it sends nothing
                continue
            text = render(ctx, found)
            chart = _chart(uow, ctx, found, last) if any(capabilities(p.platform).photos for p in missing) else None
            for person in missing:
                chat = ChatRef(person.platform, person.user_id)
                sends = [(keys[person.id], Send(chat, text, shows_numbers=True))]
                if chart is not None and capabilities(person.platform).photos:
                    sends.append((f"{keys[person.id]}:chart", Send(chat, chart[0], shows_numbers=True, photo=chart[1])))
                for key, send in sends:
                    row = to_row(send, now)
                    row.dedupe_key = key
                    stored = uow.outbox.add(row)
                    outcome.queued.append(Queued(stored.id or 0, send))
        uow.commit()
    if outcome.queued:
        log.info("queued %d digests", len(outcome.queued))
    outcome.actions = [item.action for item in outcome.queued]
    return outcome


def chart_input(uow: UnitOfWork, ctx: Context, found: DigestFigures, last: date) -> ChartInput:
    """Tickets opened and resolved per local day over the CHART_DAYS days before `last`, and the managers'
    open and overdue tickets now."""
    from handlers.digest_chart import ChartInput  # matplotlib loads only when a digest is drawn

    days = [last - timedelta(days=n) for n in range(CHART_DAYS, 0, -1)]
    start, end = _instant(ctx, days[0]), _instant(ctx, last)
    opened = Counter(moment.astimezone(ctx.tz).date() for moment in uow.digest.opened_times(start, end))
    resolved = Counter(moment.astimezone(ctx.tz).date() for moment in uow.digest.resolved_times(start, end))
    return ChartInput(title=found.title, days=days, opened=[opened[d] for d in days],
                      resolved=[resolved[d] for d in days], by_manager=found.by_manager[:8],
                      language=ctx.texts.language)


def _chart(uow: UnitOfWork, ctx: Context, found: DigestFigures, last: date) -> tuple[str, bytes] | None:
    """The digest's picture and its caption; a failed drawing costs the picture, never the digest."""
    try:
        from handlers.digest_chart import render_png

        png = render_png(chart_input(uow, ctx, found, last))
    except Exception:
        log.exception("the digest chart could not be drawn; the digest goes out as text only")
        return None
    return ctx.texts("digest.chart_caption", title=found.title, days=CHART_DAYS), png


def _quiet(f: DigestFigures) -> bool:
    return not (f.opened or f.open_now or f.escalations or f.scores or f.risk_by_category or f.notices_fired)


def _instant(ctx: Context, day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=ctx.tz)


def _day(ctx: Context, day: date) -> str:
    return f"{day:%d %b}" if ctx.texts.language == "en" else f"{day.month}月{day.day}日"


def _known(ctx: Context, category: str) -> bool:
    try:
        ctx.texts(f"digest.risk_category.{category}")
    except KeyError:
        return False
    return True
