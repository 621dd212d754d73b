"""The deadline table: calendar clocks, China working days with 调休, important customers, bad config."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.settings import CONFIG_DIR
from handlers.deadlines import CalendarOutOfRange, DeadlineConfigError, DeadlineTable
from handlers.types import Kind

TZ = ZoneInfo("Asia/Shanghai")
TABLE = DeadlineTable.from_file(CONFIG_DIR / "deadlines.toml")


def due(kind: Kind, opened: str, **options: object) -> dict[str, str]:
    at = datetime.fromisoformat(opened).replace(tzinfo=TZ)
    clocks = TABLE.clocks(kind, at, tz=TZ, **options)  # type: ignore[arg-type]
    return {c.name: c.due_at.astimezone(TZ).strftime("%m-%d %H:%M") for c in clocks}


def test_repair_arrival_by_area_type_then_restoration_after_arrival() -> None:
    assert due(Kind.REPAIR, "2026-10-02T23:30", area_type="city") == {"arrival": "10-03 00:15",
                                                                         "restoration": "10-03 03:15"}
    assert due(Kind.REPAIR, "2026-10-02T23:30", area_type="rural")["arrival"] == "10-03 01:00"
    assert due(Kind.REPAIR, "2026-10-02T23:30", area_type="remote")["arrival"] == "10-03 01:30"


def test_working_days_skip_the_national_day_holiday_and_count_the_tiaoxiu_saturday() -> None:
    # Opened the day before the holiday: Oct 8, 9, 10 (a Saturday worked in exchange), 12, 13.
    assert due(Kind.COMPLAINT, "2026-09-30T10:00") == {"first_contact": "10-01 10:00", "reply": "10-14 00:00"}


def test_one_working_day_over_a_weekend() -> None:
    assert due(Kind.PRAISE, "2026-11-27T16:00") == {"acknowledge": "12-01 00:00"}  # Fri → end of Mon


def test_important_customers_get_the_stricter_clock() -> None:
    assert due(Kind.COMPLAINT, "2026-11-24T10:00", important=True)["first_contact"] == "11-24 12:00"


def test_ordinary_chat_has_no_clock() -> None:
    assert due(Kind.NONE, "2026-11-24T10:00") == {}


def test_a_date_the_calendar_does_not_know_fails_loudly() -> None:
    with pytest.raises(CalendarOutOfRange, match="upgrade the chinesecalendar package"):
        due(Kind.REPORT, "2027-06-01T10:00")


def test_a_bad_duration_names_the_file_and_the_clock(tmp_path: Path) -> None:
    bad = tmp_path / "deadlines.toml"
    bad.write_text('[repair]\nclocks = [{ name = "arrival", default = "soon" }]\n', encoding="utf-8")
    with pytest.raises(DeadlineConfigError, match=r"\[repair\] clock 'arrival': expected a duration"):
        DeadlineTable.from_file(bad)


def test_start_up_names_the_first_day_the_calendar_does_not_know() -> None:
    from datetime import date

    from handlers.deadlines import calendar_gap

    assert calendar_gap(date(2026, 6, 1)) is None
    assert calendar_gap(date(2099, 3, 1)) == date(2099, 3, 1)
    # Two months ahead reach into a year nobody knows yet: the start-up warning comes weeks early.
    known_until = date(2026, 12, 31)
    while calendar_gap(known_until + timedelta(days=1), timedelta(days=0)) is None:
        known_until = date(known_until.year + 1, 12, 31)
    warned_from = known_until - timedelta(days=30)
    assert calendar_gap(warned_from) == known_until + timedelta(days=1)
