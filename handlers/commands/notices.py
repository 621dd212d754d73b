"""/notice and /notices: outage notices (停电通知) and announcements from the chat.

    /notice planned|temporary|fault AREAS START [END] REASON [电话:PHONE] [线路:L1,L2] [村:V1,V2]
    /notice announcement AUDIENCE TEXT       AUDIENCE: 台区 names, #tags, 站:station names, or all
    /notice N                               the notice and its delivery report
    /notice change N START [END] REASON     new times; END left out keeps the duration
    /notice cancel N REASON
    /notice restore N [NOTE]                power is back (outages only)
    /notices [all]                          the active notices (all: the latest, whatever their state)

AREAS are 台区 names separated by , ， or 、. Times are what a manager types on a phone, in the station's
zone: `12-01 08:00`, `12月1日8:00`, `下午2点`, `2026-12-01T08:00`, `明天8:00`, `今天14:00`, `now`/`现在`; a
month and day without a year is the next such date, an END with only a time is on the START's day (the next
day when that is not after the start). A fault may leave START out: it is under way now. The contact shown
to customers is the publisher's name, followed by the number given with 电话:.

The core (phases, fan-out to the groups, legal notice periods) is handlers/notices.py; this module reads
the command and answers the publisher. `summary` and `detail` are shared with `gridbot notices`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from handlers import notices as core
from handlers.commands.base import CommandCall, Refusal, UsageError, ticket_number
from handlers.context import Context
from handlers.types import Action
from storage.models import Notice
from storage.uow import UnitOfWork

KIND_WORDS = {"planned": "planned", "计划": "planned", "temporary": "temporary", "临时": "temporary",
              "fault": "fault", "故障": "fault", "announcement": "announcement", "公告": "announcement"}
ALL_WORDS = ("all", "全部")
NOW_WORDS = ("now", "现在")
_SEPARATORS = re.compile(r"[,，、]")
_STATION_PREFIX = re.compile(r"^(站|供电所|station)\s*[:：]\s*", re.IGNORECASE)
_WORD = re.compile(r"\S+")
# key:value words anywhere after the areas, e.g. 电话:13800000000 线路:10kV幸福线 村:幸福村,光明村
_EXTRA = re.compile(r"(?:^|(?<=\s))(电话|联系电话|tel|线路|line|村|village)[:：]\s*(\S+)", re.IGNORECASE)
_EXTRA_KEYS = {"电话": "phone", "联系电话": "phone", "tel": "phone", "线路": "lines", "line": "lines",
               "村": "villages", "village": "villages"}

_RELATIVE = {"今天": 0, "today": 0, "明天": 1, "tomorrow": 1, "后天": 2}
_DATE = (r"(?:(?:(?P<y>\d{4})[-/.年])?(?P<m>\d{1,2})[-/.月](?P<d>\d{1,2})[日号]?"
         r"|(?P<rel>今天|明天|后天|today|tomorrow))")
_TIME = (r"(?P<ap>上午|早上|中午|下午|晚上)?(?P<H>\d{1,2})"
         r"(?:[:：](?P<M>\d{2})(?:[:：]\d{2})?|点(?:(?P<half>半)|(?P<M2>\d{1,2})分?)?)")
_DATE_TIME = re.compile(rf"{_DATE}T?{_TIME}", re.IGNORECASE)
_DATE_ONLY = re.compile(_DATE, re.IGNORECASE)
_TIME_ONLY = re.compile(_TIME)
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\S+")
# A word meant as a time that we cannot read is refused by name rather than taken as the reason.
_TIMELIKE = re.compile(rf"{_DATE}|\d{{4}}-\d{{2}}-\d{{2}}\S*|(?:今天|明天|后天)\S*|{_TIME}\S*", re.IGNORECASE)
_SHORT = r"\d{1,2}(?:[:：]\d{2}|点(?:半|\d{1,2}分?)?)"
_RANGE = re.compile(rf"(.*{_SHORT})[~～至到\-－]((?:上午|早上|中午|下午|晚上)?{_SHORT})")  # 8:00-18:00 in one word


class BadTime(ValueError):
    """A word that is meant as a time but is not one (13-45, 25:00, 12-01 without the hour)."""

    def __init__(self, word: str) -> None:
        super().__init__(word)
        self.word = word


@dataclass(frozen=True, slots=True)
class When:
    at: datetime
    used: int  # words taken
    dated: bool  # the day was given, not implied


# ------------------------------------------------------------------------------------------------ commands
def notice(call: CommandCall) -> list[Action]:
    head, rest = [*call.args.split(maxsplit=1), "", ""][:2]
    if not head:
        raise UsageError
    sub = {"cancel": _cancel, "取消": _cancel, "change": _change, "变更": _change, "restore": _restore,
           "恢复": _restore}.get(head.lower())
    if sub is not None:
        return sub(call, rest)
    if head[0].isdigit() or head[0] in "#＃":
        if rest:
            raise UsageError
        return [call.reply(detail(call.ctx, call.uow, _find(call, head)))]
    kind = KIND_WORDS.get(head.lower())
    if kind is None:
        raise Refusal(call.t("notice.bad_kind", kinds=" | ".join(core.KINDS)))
    draft = read_draft(call, kind, rest)
    try:
        published = core.create(call.uow, call.ctx, draft, call.staff.id if call.staff else None)
    except core.NoticeError as exc:
        raise Refusal(str(exc)) from None
    return _answer(call, published, "published")


def notices(call: CommandCall) -> list[Action]:
    arg = call.args.strip().lower()
    if arg not in ("", "all"):
        raise UsageError
    rows = call.uow.notices.list(active_only=arg != "all", limit=30)
    if not rows:
        return [call.reply(call.t("notice.out.list_none"))]
    header = call.t("notice.out.list_header_all" if arg else "notice.out.list_header", count=len(rows))
    return [call.reply("\n".join([header, *(list_line(call.ctx, row) for row in rows)]))]


def _cancel(call: CommandCall, rest: str) -> list[Action]:
    number, reason = [*rest.split(maxsplit=1), "", ""][:2]
    if not reason.strip():
        raise UsageError
    found = _find(call, number)
    try:
        published = core.cancel(call.uow, call.ctx, found, reason.strip())
    except core.NoticeError as exc:
        raise Refusal(str(exc)) from None
    return _answer(call, published, "cancelled")


def _restore(call: CommandCall, rest: str) -> list[Action]:
    number, note = [*rest.split(maxsplit=1), "", ""][:2]
    found = _find(call, number)
    if found.kind not in core.OUTAGE_KINDS:
        raise Refusal(call.t("notice.out.not_outage", number=found.id))
    try:
        published = core.restore(call.uow, call.ctx, found, note.strip())
    except core.NoticeError as exc:
        raise Refusal(str(exc)) from None
    return _answer(call, published, "restored")


def _change(call: CommandCall, rest: str) -> list[Action]:
    words = _words(rest)
    if len(words) < 2:
        raise UsageError
    found = _find(call, words[0][0])
    plain = [word for word, _ in words]
    now, tz = call.ctx.clock(), call.ctx.tz
    start = _when(call, plain, 1, now, tz, now.astimezone(tz).date(), "start")
    if start is None:
        raise Refusal(call.t("notice.out.missing_time", field=call.t("notice.out.field_start")))
    end_at, used = _end(call, plain, 1 + start.used, start.at, now, tz)
    if end_at is None and found.start_at is not None and found.end_at is not None:
        end_at = start.at + (found.end_at - found.start_at)  # moved, not shortened: the same duration
    at = 1 + start.used + used
    reason = rest[words[at][1]:].strip() if at < len(words) else ""
    if not reason:
        raise UsageError
    try:
        published = core.change(call.uow, call.ctx, found, start.at, end_at, reason)
    except core.NoticeError as exc:
        raise Refusal(str(exc)) from None
    return _answer(call, published, "changed")


def _answer(call: CommandCall, published: core.Published, key: str) -> list[Action]:
    call.queued.extend(published.outcome.queued)  # already in the outbox under their keys: delivered, not re-queued
    return [call.reply(summary(call.ctx, call.uow, published, key))]


def _find(call: CommandCall, word: str) -> Notice:
    number = ticket_number(word)  # 12, #12 and 12号, like tickets
    found = call.uow.notices.get(number)
    if found is None:
        raise Refusal(call.t("notice.out.not_found", number=number))
    return found


# ------------------------------------------------------------------------------------------------ reading
def read_draft(call: CommandCall, kind: str, text: str) -> core.Draft:
    """The notice as typed after its kind; a missing or unreadable time is refused by name."""
    text, extras = _extras(text)
    words = _words(text)
    if not words:
        raise UsageError
    contact = " ".join(filter(None, [call.staff.name if call.staff else "", extras.get("phone", "")]))[:100]
    lines, villages = split_names(extras.get("lines", "")), split_names(extras.get("villages", ""))
    if kind == "announcement":
        body = text[words[1][1]:].strip() if len(words) > 1 else ""
        areas, tags, stations, every = read_audience(words[0][0])
        return core.Draft(kind, areas, contact=contact, lines=lines, villages=villages, text=body,
                          all_groups=every, tags=tags, stations=stations)
    plain = [word for word, _ in words]
    now, tz = call.ctx.clock(), call.ctx.tz
    start = _when(call, plain, 1, now, tz, now.astimezone(tz).date(), "start")
    if start is None and kind != "fault":
        raise Refusal(call.t("notice.out.missing_time", field=call.t("notice.out.field_start")))
    start_at, at = (start.at, 1 + start.used) if start else (now, 1)  # a fault left without START: under way now
    end_at, used = _end(call, plain, at, start_at, now, tz)
    at += used
    reason = text[words[at][1]:].strip() if at < len(words) else ""
    if not reason:
        raise Refusal(call.t("notice.out.no_reason"))
    return core.Draft(kind, split_names(words[0][0]), start_at, end_at, reason, contact, lines, villages)


def read_audience(value: str) -> tuple[list[str], list[str], list[str], bool]:
    """An announcement's groups: 台区 names, #tags, 站:station names, or all; mixed, comma-separated."""
    areas, tags, stations = [], [], []
    for name in split_names(value):
        if name.lower() in ALL_WORDS:
            return [], [], [], True
        if name[0] in "#＃":
            tags.append(clean_tag(name))
        elif (prefix := _STATION_PREFIX.match(name)) is not None:
            stations.append(name[prefix.end():].strip())
        else:
            areas.append(name)
    return areas, [tag for tag in tags if tag], [station for station in stations if station], False


def clean_tag(value: str) -> str:
    """#小区 → 小区: a group tag as stored, at most 20 characters."""
    return value.strip().lstrip("#＃").strip()[:20]


def split_names(value: str) -> list[str]:
    """幸福村台区,光明村台区 (also ， and 、) → the names, blanks dropped, order and first spelling kept."""
    return list(dict.fromkeys(name.strip() for name in _SEPARATORS.split(value) if name.strip()))


def read_when(words: list[str], i: int, now: datetime, tz: ZoneInfo, base: date) -> When | None:
    """The moment written at words[i] (one word, or a date and a time), or None when it is not a time.

    `base` is the day of a bare time (today for a start, the start's day for an end). Raises BadTime for a
    word that is meant as a time but cannot be one.
    """
    if i >= len(words):
        return None
    word, today = words[i], now.astimezone(tz).date()
    if word.lower() in NOW_WORDS:
        return When(now, 1, True)
    try:
        if _ISO.fullmatch(word):  # 2026-12-01T08:00, perhaps with seconds or an offset
            at = datetime.fromisoformat(word)
            return When(at if at.tzinfo else at.replace(tzinfo=tz), 1, True)
        if match := _DATE_TIME.fullmatch(word):
            return When(_moment(match.groupdict(), today, base, tz), 1, True)
        if match := _DATE_ONLY.fullmatch(word):
            hour = _TIME_ONLY.fullmatch(words[i + 1]) if i + 1 < len(words) else None
            if hour is None:
                raise BadTime(word)  # a day without the hour
            return When(_moment(match.groupdict() | hour.groupdict(), today, base, tz), 2, True)
        if match := _TIME_ONLY.fullmatch(word):
            return When(_moment(match.groupdict(), today, base, tz), 1, False)
    except ValueError:  # 13-45, 25:00, 2-30
        raise BadTime(word) from None
    if _TIMELIKE.fullmatch(word):
        raise BadTime(word)
    return None


def _moment(parts: dict[str, str | None], today: date, base: date, tz: ZoneInfo) -> datetime:
    if parts.get("rel"):
        day = today + timedelta(days=_RELATIVE[(parts["rel"] or "").lower()])
    elif parts.get("m"):
        year, month, mday = int(parts.get("y") or today.year), int(parts["m"] or 0), int(parts["d"] or 0)
        day = date(year, month, mday)
        if not parts.get("y") and day < today:  # 1-05 written in December: next January
            day = date(year + 1, month, mday)
    else:
        day = base
    hour = int(parts["H"] or 0)
    minute = 30 if parts.get("half") else int(parts.get("M") or parts.get("M2") or 0)
    if (parts.get("ap") in ("下午", "晚上") and hour < 12) or (parts.get("ap") == "中午" and hour < 6):
        hour += 12
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def _when(call: CommandCall, words: list[str], i: int, now: datetime, tz: ZoneInfo, base: date,
          field: str) -> When | None:
    try:
        return read_when(words, i, now, tz, base)
    except BadTime as bad:
        raise Refusal(call.t("notice.out.bad_time", field=call.t(f"notice.out.field_{field}"),
                             value=bad.word)) from None


def _end(call: CommandCall, words: list[str], i: int, start: datetime, now: datetime,
         tz: ZoneInfo) -> tuple[datetime | None, int]:
    end = _when(call, words, i, now, tz, start.astimezone(tz).date(), "end")
    if end is None:
        return None, 0
    if not end.dated and end.at <= start:  # 22:00 to 06:00: the work goes on overnight
        return end.at + timedelta(days=1), end.used
    return end.at, end.used


def _words(text: str) -> list[tuple[str, int]]:
    """The words with where each starts (the reason is the rest of the text, its own spacing kept)."""
    words: list[tuple[str, int]] = []
    for match in _WORD.finditer(text):
        if ranged := _RANGE.fullmatch(match.group()):  # 12月1日8:00-18:00 is a start and an end
            words += [(ranged.group(1), match.start()), (ranged.group(2), match.start())]
        else:
            words.append((match.group(), match.start()))
    return words


def _extras(text: str) -> tuple[str, dict[str, str]]:
    found: dict[str, str] = {}

    def take(match: re.Match[str]) -> str:
        found[_EXTRA_KEYS[match.group(1).lower()]] = match.group(2)
        return ""

    return _EXTRA.sub(take, text).strip(), found


# ------------------------------------------------------------------------------------------------ answers
def summary(ctx: Context, uow: UnitOfWork, published: core.Published, key: str) -> str:
    """The publisher's answer: number, kind, groups reached now, the reminders planned, any warning."""
    texts, found = ctx.texts, published.notice
    lines = [texts(f"notice.out.{key}", number=found.id, kind=texts(f"notice.kind.{found.kind}"),
                   groups=published.groups)]
    titles = _titles(uow)
    # Groups only: subscribers' private chats are counted apart and never listed by id.
    reached = [titles[chat] for chat in ((q.action.chat.platform, q.action.chat.chat_id)
                                         for q in published.outcome.queued) if chat in titles]
    if reached:
        lines.append(texts("notice.out.group_list", titles="、".join(reached[:20]) + ("…" if len(reached) > 20
                                                                                     else "")))
    later = [phase for phase in published.phases if phase.status == "pending"]
    if later:
        lines.append(texts("notice.out.planned_header"))
        lines += [texts("notice.out.planned_line", at=texts.at(phase.due_at),
                        phase=texts(f"notice.out.phase.{phase.phase}")) for phase in later]
    if key == "published" and published.groups and (unbound := unbound_areas(uow, found)):
        lines.append(texts("notice.out.area_unbound", areas="、".join(unbound)))
    if published.warning:
        lines.append(published.warning)
    return "\n".join(lines)


def detail(ctx: Context, uow: UnitOfWork, found: Notice) -> str:
    """The notice as stored, and per phase: when, and how many groups it reached, still pending or failed why."""
    texts = ctx.texts
    lines = [texts("notice.out.detail_header", number=found.id, kind=texts(f"notice.kind.{found.kind}"),
                   status=texts(f"notice.out.status.{found.status}"), version=found.version)]
    if found.kind == "announcement":
        lines.append(texts("notice.line.where", place=_place(ctx, found, uow.stations.names(found.station_ids))))
        lines.append(found.text)
    else:
        lines.append(texts("notice.line.where", place=_place(ctx, found)))
        if found.lines:
            lines.append(texts("notice.line.lines", lines="、".join(found.lines)))
        lines.append(texts("notice.line.when", start=texts.at(found.start_at) if found.start_at else "-",
                           end=texts.at(found.end_at) if found.end_at else texts("notice.until_restored")))
        lines.append(texts("notice.line.reason", reason=found.reason))
    if found.contact:
        lines.append(texts("notice.line.contact", contact=found.contact))
    author = uow.staff.get(found.created_by) if found.created_by else None
    lines.append(texts("notice.out.detail_created", at=texts.at(found.created_at), by=author.name if author else ""))
    if found.warning:
        lines.append(found.warning)  # already worded as a note to the publisher
    lines.append(texts("notice.out.report_header"))
    for report in core.delivery_report(uow, found.id or 0):
        lines.append(texts("notice.out.report_line", phase=texts(f"notice.out.phase.{report.phase.phase}"),
                           state=_state(ctx, report)))
        lines += [texts("notice.out.failed_line", group=group, error=error) for group, error in report.failed]
    return "\n".join(lines)


def list_line(ctx: Context, found: Notice) -> str:
    texts = ctx.texts
    when = ""
    if found.start_at is not None:
        end = texts.at(found.end_at) if found.end_at else texts("notice.until_restored")
        when = f"{texts.at(found.start_at)} – {end}"
    return texts("notice.out.list_line", number=found.id, kind=texts(f"notice.kind.{found.kind}"),
                 status=texts(f"notice.out.status.{found.status}"), place=_place(ctx, found), when=when).strip()


def unbound_areas(uow: UnitOfWork, found: Notice) -> list[str]:
    """The notice's areas that no active group is bound to (a typo, or a group not yet bound)."""
    bound = {group.area_id for group in uow.groups.all() if group.active and group.area_id is not None}
    return [name for name in found.areas if not uow.notices.area_ids([name]) & bound]


def _state(ctx: Context, report: core.PhaseReport) -> str:
    texts, phase = ctx.texts, report.phase
    if phase.status == "sent":
        state = texts("notice.out.state_sent", at=texts.at(phase.fired_at or phase.due_at), groups=phase.groups,
                      sent=report.sent, pending=report.pending, failed=len(report.failed))
        if report.subscribers_sent or report.subscribers_pending or report.subscribers_failed:
            state += texts("notice.out.state_subscribers", sent=report.subscribers_sent,
                           pending=report.subscribers_pending, failed=report.subscribers_failed)
        if report.owner_confirmed:
            counts = {name: report.owner_confirmed.get(name, 0) for name in ("sent", "waiting", "over_quota", "failed")}
            state += "\n" + texts("wecom.report_line", **counts)
        return state
    if phase.status == "skipped":
        return texts("notice.out.state_skipped", at=texts.at(phase.fired_at or phase.due_at), note=phase.note)
    if phase.status == "dropped":
        return texts("notice.out.state_dropped", note=phase.note)
    return texts("notice.out.state_pending", at=texts.at(phase.due_at))


def _place(ctx: Context, found: Notice, stations: dict[int, str] | None = None) -> str:
    if found.all_groups:
        return ctx.texts("notice.out.all_groups")
    named = [(stations or {}).get(station_id, f"station {station_id}") for station_id in found.station_ids]
    return "、".join([*found.areas, *found.villages, *(f"#{tag}" for tag in found.tags), *named]) or "-"


def _titles(uow: UnitOfWork) -> dict[tuple[str, str], str]:
    return {(group.platform, group.chat_id): group.title or group.chat_id for group in uow.groups.all()}
