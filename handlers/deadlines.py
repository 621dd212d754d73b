"""The deadline table and its arithmetic: calendar minutes/hours and China working days."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar

from handlers.types import Kind

_DURATION = re.compile(r"^\s*(\d+)\s*(min|h|wd)\s*$")
AREA_TYPES = ("city", "rural", "remote")
MET_ON = ("contact", "arrival", "resolve")


class CalendarOutOfRange(ValueError):
    """chinesecalendar does not know the working days of this date yet: update the package."""


class DeadlineConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Duration:
    amount: int
    unit: str  # min | h | wd

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(text)
        if not match:
            raise DeadlineConfigError(f"expected a duration like 45min, 3h or 5wd, got {text!r}")
        return cls(int(match.group(1)), match.group(2))


@dataclass(frozen=True, slots=True)
class ClockRule:
    name: str
    by_area: dict[str, Duration]
    important: Duration | None = None
    after: str | None = None
    met_on: str = "resolve"  # contact (accepted or first reply) | arrival (/arrive) | resolve
    escalate: bool = True

    def duration(self, area_type: str, important: bool) -> Duration:
        if important and self.important is not None:
            return self.important
        return self.by_area[area_type]


@dataclass(frozen=True, slots=True)
class DueClock:
    name: str
    duration: Duration
    due_at: datetime
    started_at: datetime
    met_on: str = "resolve"
    escalate: bool = True
    after: str | None = None


class DeadlineTable:
    def __init__(self, rules: dict[Kind, tuple[ClockRule, ...]]) -> None:
        self._rules = rules

    @classmethod
    def from_file(cls, path: Path) -> DeadlineTable:
        with path.open("rb") as handle:
            raw = tomllib.load(handle)
        rules: dict[Kind, tuple[ClockRule, ...]] = {}
        for kind_name, section in raw.items():
            try:
                kind = Kind(kind_name)
            except ValueError:
                raise DeadlineConfigError(f"{path}: unknown appeal kind [{kind_name}]") from None
            rules[kind] = tuple(_parse_clock(path, kind_name, clock) for clock in section["clocks"])
        return cls(rules)

    def clocks(self, kind: Kind, opened_at: datetime, *, area_type: str = "rural",
               important: bool = False, tz: ZoneInfo, workday: Callable[[date], bool] | None = None,
               ) -> list[DueClock]:
        """Every clock of a ticket of this kind opened at `opened_at`, in order."""
        result: list[DueClock] = []
        for rule in self._rules.get(kind, ()):
            duration = rule.duration(area_type, important)
            start = opened_at
            if rule.after is not None:  # estimate: the earlier clock met exactly on time
                start = next(c.due_at for c in result if c.name == rule.after)
            due = add_duration(start, duration, tz, workday or is_workday)
            result.append(DueClock(rule.name, duration, due, start, rule.met_on, rule.escalate, rule.after))
        return result


def _parse_clock(path: Path, kind: str, raw: dict[str, str]) -> ClockRule:
    try:
        default = raw.get("default")
        by_area = {area: Duration.parse(raw.get(area) or default or "") for area in AREA_TYPES}
        important = Duration.parse(raw["important"]) if "important" in raw else None
    except DeadlineConfigError as exc:
        raise DeadlineConfigError(f"{path}: [{kind}] clock {raw.get('name')!r}: {exc}") from None
    met_on = str(raw.get("met_on", "resolve"))
    if met_on not in MET_ON:
        raise DeadlineConfigError(f"{path}: [{kind}] clock {raw.get('name')!r}: met_on must be one of "
                                  f"{', '.join(MET_ON)}, got {met_on!r}")
    return ClockRule(raw["name"], by_area, important, raw.get("after"), met_on, bool(raw.get("escalate", True)))


def add_duration(start: datetime, duration: Duration, tz: ZoneInfo,
                 workday: Callable[[date], bool] | None = None) -> datetime:
    if duration.unit == "min":
        return start + timedelta(minutes=duration.amount)
    if duration.unit == "h":
        return start + timedelta(hours=duration.amount)
    local_day = start.astimezone(tz).date()
    last_day = nth_workday_after(local_day, duration.amount, workday or is_workday)
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=tz)


def warning_time(started_at: datetime, due_at: datetime, unit: str, tz: ZoneInfo,
                 workday: Callable[[date], bool] | None = None) -> datetime:
    """When to warn the assignee: 2 working days before a working-day deadline, at 75% of a
    minute/hour one (../shared/DOMAIN.md)."""
    if unit != "wd":
        return started_at + (due_at - started_at) * 3 / 4
    # Working-day clocks end at local midnight after their last day; step back over two working days.
    day, counted = (due_at.astimezone(tz) - timedelta(seconds=1)).date(), 0
    while counted < 2:
        counted += (workday or is_workday)(day)
        day -= timedelta(days=1)
    return max(started_at, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))


def is_workday(day: date) -> bool:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        raise CalendarOutOfRange(
            f"chinesecalendar does not know {day.year} yet: upgrade the chinesecalendar package"
        ) from None


def calendar_gap(today: date, ahead: timedelta = timedelta(days=60)) -> date | None:
    """The first day within `ahead` whose working days chinesecalendar does not know, or None.

    Checked at start-up so the station hears about a stale calendar weeks before tickets are affected.
    """
    for year in range(today.year, (today + ahead).year + 1):
        first = max(today, date(year, 1, 1))
        try:
            is_workday(first)
        except CalendarOutOfRange:
            return first
    return None


def monday_to_friday(day: date) -> bool:
    """The stand-in calendar for years chinesecalendar does not know yet (holidays and 调休 unknown)."""
    return day.weekday() < 5


def nth_workday_after(day: date, n: int, workday: Callable[[date], bool] = is_workday) -> date:
    """The Nth working day strictly after `day` (调休 weekend workdays count)."""
    current, counted = day, 0
    while counted < n:
        current += timedelta(days=1)
        counted += workday(current)
    return current
