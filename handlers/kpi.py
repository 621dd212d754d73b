"""Per-manager and per-station KPIs over a period of local dates: the figures of `gridbot report kpi`.

Definitions (period = local dates [from, to] in the station's time zone, i.e. [from 00:00, to+1 00:00)):
- opened: tickets opened in the period, by assignee; merged duplicates are counted apart (`merged`)
  and nowhere else, because the fault is already counted on its parent.
- handled: distinct tickets with a "resolved" event in the period, credited to the staff member in the
  last such event's actor ("staff:<id>"), else to the ticket's assignee.
- reopened: distinct tickets with a "reopened" event in the period, charged to whoever made the resolution
  that was reopened (the latest "resolved" event before it), else to the assignee. reopen rate =
  reopened / handled.
- first response: minutes from opening to the first response, of tickets opened in the period.
- on time, per clock: clocks of tickets opened in the period. Met → on time iff met_at <= due_at; unmet and
  past due (before now, the period end and, for a ticket waiting for the customer, the moment it paused) →
  late; anything else is undecided and left out. Unmet clocks of cancelled tickets, and unmet clocks whose
  earlier clock (`after`) is unmet too (the promise has not started), are undecided.
- satisfaction: surveys rated in the period, credited to the manager and station frozen at rating time;
  4–5 满意, 3 基本满意, 1–2 不满意; `no_rating` counts surveys closed without a rating in the period.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.context import Context
from storage.reports import ClockRow, EventRow, Reports
from storage.uow import UnitOfWork

CLOCK_NAMES = ("arrival", "restoration", "first_contact", "reply", "answer", "acknowledge", "handle", "reopen")


@dataclass(frozen=True, slots=True)
class Period:
    date_from: date
    date_to: date
    start: datetime  # aware, local midnight of date_from
    end: datetime  # aware, local midnight after date_to (exclusive)

    @classmethod
    def of(cls, date_from: date, date_to: date, tz: ZoneInfo) -> Period:
        if date_from > date_to:
            raise ValueError(f"the period starts ({date_from}) after it ends ({date_to})")
        # combine() with the zone picks the right offset for each day, DST included where a zone has one.
        return cls(date_from, date_to, datetime.combine(date_from, time(0), tzinfo=tz),
                   datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=tz))


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclass(frozen=True, slots=True)
class OnTime:
    on_time: int = 0
    late: int = 0

    @property
    def decided(self) -> int:
        return self.on_time + self.late

    @property
    def rate(self) -> float | None:
        return _rate(self.on_time, self.decided)


@dataclass(frozen=True, slots=True)
class FirstResponse:
    count: int = 0
    median_minutes: float | None = None
    mean_minutes: float | None = None


@dataclass(frozen=True, slots=True)
class Satisfaction:
    satisfied: int = 0  # 满意, 4–5
    fairly_satisfied: int = 0  # 基本满意, 3
    dissatisfied: int = 0  # 不满意, 1–2
    mean_score: float | None = None
    no_rating: int = 0

    @property
    def count(self) -> int:
        return self.satisfied + self.fairly_satisfied + self.dissatisfied

    @property
    def satisfied_share(self) -> float | None:
        return _rate(self.satisfied, self.count)

    @property
    def fairly_satisfied_share(self) -> float | None:
        return _rate(self.fairly_satisfied, self.count)

    @property
    def dissatisfied_share(self) -> float | None:
        return _rate(self.dissatisfied, self.count)


@dataclass(frozen=True, slots=True)
class KpiRow:
    """The figures of one manager (id = staff id) or one station (id = station id, None if not recorded)."""

    id: int | None
    name: str
    opened: int = 0
    merged: int = 0
    handled: int = 0
    reopened: int = 0
    first_response: FirstResponse = FirstResponse()
    on_time: tuple[tuple[str, OnTime], ...] = ()  # per clock name: the known names first, then any other
    satisfaction: Satisfaction = Satisfaction()

    @property
    def reopen_rate(self) -> float | None:
        return _rate(self.reopened, self.handled)

    @property
    def on_time_overall(self) -> OnTime:
        return OnTime(sum(o.on_time for _, o in self.on_time), sum(o.late for _, o in self.on_time))

    def clock(self, name: str) -> OnTime:
        return dict(self.on_time).get(name, OnTime())


@dataclass(frozen=True, slots=True)
class KpiReport:
    period: Period
    as_of: datetime  # clocks still running at this time are undecided
    managers: tuple[KpiRow, ...]
    stations: tuple[KpiRow, ...]


@dataclass
class _Tally:
    """Mutable accumulator for one row while the report is built."""

    opened: set[int] = field(default_factory=set)
    merged: set[int] = field(default_factory=set)
    handled: set[int] = field(default_factory=set)
    reopened: set[int] = field(default_factory=set)
    response_minutes: list[float] = field(default_factory=list)
    on_time: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    scores: list[int] = field(default_factory=list)
    no_rating: int = 0

    def busy(self) -> bool:
        return bool(self.opened or self.merged or self.handled or self.reopened or self.scores or self.no_rating
                    or any(sum(v) for v in self.on_time.values()))

    def row(self, row_id: int | None, name: str, clock_names: tuple[str, ...]) -> KpiRow:
        minutes = self.response_minutes
        return KpiRow(
            id=row_id, name=name, opened=len(self.opened), merged=len(self.merged), handled=len(self.handled),
            reopened=len(self.reopened),
            first_response=FirstResponse(len(minutes), statistics.median(minutes) if minutes else None,
                                         statistics.fmean(minutes) if minutes else None),
            on_time=tuple((n, OnTime(*self.on_time.get(n, (0, 0)))) for n in clock_names),
            satisfaction=Satisfaction(
                satisfied=sum(1 for s in self.scores if s >= 4),
                fairly_satisfied=sum(1 for s in self.scores if s == 3),
                dissatisfied=sum(1 for s in self.scores if s <= 2),
                mean_score=statistics.fmean(self.scores) if self.scores else None,
                no_rating=self.no_rating),
        )


def staff_of(actor: str) -> int | None:
    """The staff id in an actor "staff:<id>", None for customers and the system."""
    kind, _, rest = actor.partition(":")
    return int(rest) if kind == "staff" and rest.isdigit() else None


class _Builder:
    def __init__(self, reports: Reports, station_name: str) -> None:
        self.staff: dict[int, _Tally] = defaultdict(_Tally)
        self.stations: dict[int | None, _Tally] = defaultdict(_Tally)
        self.known_stations = list(reports.stations())
        # Tickets and surveys without a station count under the station named in the settings.
        self.fallback = next((sid for sid, name in self.known_stations if name == station_name), None)

    def tallies(self, staff_id: int | None, station_id: int | None) -> Iterable[_Tally]:
        if staff_id is not None:
            yield self.staff[staff_id]
        yield self.stations[station_id if station_id is not None else self.fallback]


def kpi_report(uow: UnitOfWork, period: Period, *, now: datetime, station_name: str) -> KpiReport:
    """Compute the KPIs of every manager with activity in the period, and of every station."""
    reports, start, end = uow.reports, period.start, period.end
    build = _Builder(reports, station_name)

    for t in reports.opened_tickets(start, end):
        for tally in build.tallies(t.assignee_id, t.station_id):
            (tally.merged if t.duplicate else tally.opened).add(t.ticket_id)
            if not t.duplicate and t.first_response_at is not None:
                tally.response_minutes.append((t.first_response_at - t.opened_at).total_seconds() / 60)

    # The last resolution in the period decides who handled a ticket resolved twice.
    for event in _last_per_ticket(reports.ticket_events("resolved", start, end)):
        for tally in build.tallies(_credited(event), event.station_id):
            tally.handled.add(event.ticket_id)

    resolutions: dict[int, list[EventRow]] = defaultdict(list)
    for event in reports.resolutions_of_reopened(start, end):
        resolutions[event.ticket_id].append(event)
    for event in _last_per_ticket(reports.ticket_events("reopened", start, end)):
        before = [r for r in resolutions[event.ticket_id] if (r.at, r.event_id) <= (event.at, event.event_id)]
        resolver = _credited(before[-1]) if before else event.assignee_id
        for tally in build.tallies(resolver, event.station_id):
            tally.reopened.add(event.ticket_id)

    clocks = reports.clocks_of_opened(start, end)
    met = {(c.ticket_id, c.name) for c in clocks if c.met_at is not None}
    cut = min(now, end)
    for c in clocks:
        verdict = _judge(c, met, cut)
        if verdict is not None:
            for tally in build.tallies(c.assignee_id, c.station_id):
                tally.on_time[c.name][0 if verdict else 1] += 1

    for s in reports.answered_surveys(start, end):
        for tally in build.tallies(s.staff_id, s.station_id):
            if s.status == "no_rating":
                tally.no_rating += 1
            elif s.score is not None:
                tally.scores.append(s.score)

    extra = sorted({c.name for c in clocks} - set(CLOCK_NAMES))
    names = (*CLOCK_NAMES, *extra)
    staff_names = reports.staff_names(build.staff)
    managers = tuple(tally.row(sid, staff_names.get(sid, f"staff {sid}"), names)
                     for sid, tally in sorted(build.staff.items()) if tally.busy())
    stations = [build.stations[sid].row(sid, name, names) for sid, name in build.known_stations]
    if build.fallback is None and (None in build.stations or not stations):
        stations.insert(0, build.stations[None].row(None, station_name, names))
    return KpiReport(period, now, managers, tuple(stations))


def _judge(c: ClockRow, met: set[tuple[int, str]], cut: datetime) -> bool | None:
    """True on time, False late, None undecided (see the module's definitions)."""
    if c.met_at is not None:
        return c.met_at <= c.due_at
    if c.status == "cancelled":  # no promise left to keep: a withdrawn appeal is nobody's delay
        return None
    if c.after is not None and (c.ticket_id, c.after) not in met:
        return None  # e.g. restoration before arrival: its due time is only an estimate
    limit = min(cut, c.paused_at) if c.paused_at is not None else cut  # paused clocks stand still
    return False if c.due_at < limit else None


def _credited(event: EventRow) -> int | None:
    staff_id = staff_of(event.actor)
    return staff_id if staff_id is not None else event.assignee_id


def _last_per_ticket(events: Iterable[EventRow]) -> list[EventRow]:
    last: dict[int, EventRow] = {}
    for event in events:  # in time order, so the last one written wins
        last[event.ticket_id] = event
    return list(last.values())


def report_for(ctx: Context, date_from: date, date_to: date) -> KpiReport:
    with ctx.uow() as uow:
        return kpi_report(uow, Period.of(date_from, date_to, ctx.tz), now=ctx.clock(),
                          station_name=ctx.station_name)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _on_time_dict(o: OnTime) -> dict[str, Any]:
    return {"on_time": o.on_time, "late": o.late, "rate": _round(o.rate, 3)}


def row_dict(row: KpiRow, id_key: str) -> dict[str, Any]:
    """One row as JSON: stable keys, numbers as numbers, rates 0–1 to 3 decimals, minutes to 0.1."""
    s, fr = row.satisfaction, row.first_response
    return {
        id_key: row.id, "name": row.name, "opened": row.opened, "merged": row.merged, "handled": row.handled,
        "reopened": row.reopened, "reopen_rate": _round(row.reopen_rate, 3),
        "first_response": {"count": fr.count, "median_minutes": _round(fr.median_minutes, 1),
                           "mean_minutes": _round(fr.mean_minutes, 1)},
        "on_time": {"overall": _on_time_dict(row.on_time_overall),
                    "by_clock": {name: _on_time_dict(o) for name, o in row.on_time}},
        "satisfaction": {
            "count": s.count, "satisfied": s.satisfied, "fairly_satisfied": s.fairly_satisfied,
            "dissatisfied": s.dissatisfied, "satisfied_share": _round(s.satisfied_share, 3),
            "fairly_satisfied_share": _round(s.fairly_satisfied_share, 3),
            "dissatisfied_share": _round(s.dissatisfied_share, 3), "mean_score": _round(s.mean_score, 2),
            "no_rating": s.no_rating},
    }


def report_dict(report: KpiReport) -> dict[str, Any]:
    p = report.period
    tz = p.start.tzinfo
    return {
        "period": {"from": p.date_from.isoformat(), "to": p.date_to.isoformat(),
                   "timezone": getattr(tz, "key", str(tz)),
                   "start": p.start.isoformat(), "end": p.end.isoformat()},
        "as_of": report.as_of.astimezone(tz).isoformat(),
        "managers": [row_dict(r, "staff_id") for r in report.managers],
        "stations": [row_dict(r, "station_id") for r in report.stations],
    }
