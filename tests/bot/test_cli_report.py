"""`gridbot report kpi` against a migrated SQLite file: the JSON document, the table, and bad dates."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from storage.db import make_engine
from storage.models import Staff, Station, Survey, Ticket, TicketClock, TicketEvent
from tests.cli_helpers import gridbot, isolate

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def station(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    return isolate(monkeypatch, tmp_path, 'kpi.db')



def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SH)


def seed(db: Path) -> None:
    """One manager, two tickets in November (one resolved on time, rated 4), one in October."""
    engine = make_engine(f"sqlite:///{db}")
    with Session(engine) as session:
        st = Station(name="示范供电所")
        session.add(st)
        session.flush()
        li = Staff(platform="telegram", user_id="901", name="李经理", role="grid_manager", station_id=st.id,
                   created_at=at(1, 9))
        session.add(li)
        session.flush()
        for number, opened, response in ((1, at(2, 9), at(2, 9, 10)), (2, at(3, 9), at(3, 9, 30)),
                                         (3, datetime(2026, 10, 5, 9, tzinfo=SH), None)):
            session.add(Ticket(id=number, kind="repair", text="停电了", platform="telegram", chat_id="-1001",
                               sender_user_id="501", source_message_id=str(number), assignee_id=li.id,
                               opened_at=opened, updated_at=opened, last_customer_message_at=opened,
                               first_response_at=response, station_id=st.id))
        session.flush()
        session.add(TicketClock(ticket_id=1, name="arrival", due_at=at(2, 10, 30), met_at=at(2, 10)))
        session.add(TicketClock(ticket_id=2, name="arrival", due_at=at(3, 10, 30), met_at=at(3, 11)))
        session.add(TicketEvent(ticket_id=1, at=at(2, 12), actor=f"staff:{li.id}", action="resolved"))
        session.add(Survey(ticket_id=1, platform="telegram", chat_id="-1001", customer_user_id="501",
                           status="rated", asked_at=at(2, 12), score=4, answered_at=at(2, 13), staff_id=li.id,
                           station_id=st.id))
        session.commit()
    engine.dispose()


def test_kpi_json_document(station: Path) -> None:
    assert gridbot("db", "upgrade")[0] == 0
    seed(station / "kpi.db")
    code, out = gridbot("report", "kpi", "--from", "2026-11-01", "--to", "2026-11-30", "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert doc["period"]["from"] == "2026-11-01" and doc["period"]["timezone"] == "Asia/Shanghai"
    [manager] = doc["managers"]
    assert (manager["name"], manager["opened"], manager["handled"], manager["reopen_rate"]) == ("李经理", 2, 1, 0.0)
    assert manager["first_response"] == {"count": 2, "median_minutes": 20.0, "mean_minutes": 20.0}
    assert manager["on_time"]["by_clock"]["arrival"] == {"on_time": 1, "late": 1, "rate": 0.5}
    assert manager["satisfaction"]["satisfied_share"] == 1.0 and manager["satisfaction"]["mean_score"] == 4.0
    [row] = doc["stations"]
    assert row["name"] == "示范供电所" and row["opened"] == 2
    code, out = gridbot("report", "kpi", "--from", "2026-10-01", "--to", "2026-10-31", "--json")
    [october] = json.loads(out)["managers"]
    assert code == 0 and (october["opened"], october["handled"], october["reopen_rate"]) == (1, 0, None)


def test_kpi_table(station: Path) -> None:
    gridbot("db", "upgrade")
    seed(station / "kpi.db")
    code, out = gridbot("report", "kpi", "--from", "2026-11-01", "--to", "2026-11-30")
    assert code == 0, out
    assert "李经理" in out and "示范供电所" in out and "arrival" in out
    assert "1/2 50%" in out and "4.00" in out  # arrival: one of two on time; mean score


@pytest.mark.parametrize(("args", "named"), [
    (("--from", "2026-11-31", "--to", "2026-11-30"), "--from"),
    (("--from", "2026-11-01", "--to", "November"), "--to"),
    (("--from", "2026-12-01", "--to", "2026-11-30"), "--to"),
])
def test_bad_dates_name_the_option(args: tuple[str, ...], named: str) -> None:
    gridbot("db", "upgrade")
    code, out = gridbot("report", "kpi", *args)
    assert code == 2 and named in out and "Traceback" not in out


def test_unmigrated_database_is_one_line() -> None:
    code, out = gridbot("report", "kpi", "--from", "2026-11-01", "--to", "2026-11-30")
    assert code == 2 and "run `gridbot db upgrade` first" in out
