"""KPIs over November 2026 from a known data set, with the exact figures worked out by hand.

The FakeClock stands at 2026-11-24 10:00 Shanghai, so clocks due after it are still undecided.
Two managers, 李经理 (A) and 王经理 (B), and a supervisor with nothing to report. Tickets (local times):

  T1  A  repair     11-02  resolved by A; arrival and restoration met on time; response 10 min
  T2  B  repair     11-03  resolved by A, reopened, resolved by B (now assigned to B); arrival met late
  T3  B  complaint  11-05  resolved by B; first_contact and reply on time
  T4  B  complaint  11-20  first_contact unmet and past due (late); reply not yet due (undecided)
  T5  A  inquiry    11-23  no station recorded; answer not yet due
  T6  -  repair     11-02  merged under T1 (a duplicate): counted nowhere but in `merged`
  T7  B  opinion    10-31 23:59 (outside) — resolved by A on 11-01, so it is A's handled ticket
  T8  A  opinion    10-10  everything in October
  T9  B  praise     11-30 23:50 (inside); resolved 12-01 00:10 (outside); acknowledge met on time
  T10 B  opinion    11-01 00:00 (inside); reply unmet and past due (late)
  T11 B  opinion    11-10  waiting for the customer since before its reply was due: undecided
  T12 A  opinion    11-15  cancelled; its unmet reply clock is undecided
  T13 B  repair     11-22  arrival late; restoration never started (arrival unmet): undecided
  T14 B  opinion    11-06  resolved by the system: credited to the assignee B; reply on time
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from handlers.context import Context
from handlers.kpi import KpiReport, KpiRow, Period, kpi_report, report_dict, report_for
from storage.models import Staff, Station, Survey, Ticket, TicketClock, TicketEvent
from tests.conftest import FakeClock

SH = ZoneInfo("Asia/Shanghai")
NOVEMBER = (date(2026, 11, 1), date(2026, 11, 30))


def at(month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


class Data:
    """Inserts rows directly, the way the core would have left them."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.surveys = 0

    def add(self, row: Any) -> Any:
        self.session.add(row)
        self.session.flush()
        return row

    def ticket(self, number: int, assignee: Staff | None, opened: datetime, *, station: Station | None,
               status: str = "resolved", response: datetime | None = None, kind: str = "opinion",
               parent: int | None = None, paused: datetime | None = None) -> None:
        self.add(Ticket(id=number, kind=kind, status=status, text=f"appeal {number}", platform="telegram",
                        chat_id="-1001", sender_user_id=f"50{number}", source_message_id=str(number),
                        assignee_id=assignee.id if assignee else None, opened_at=opened, updated_at=opened,
                        last_customer_message_at=opened, first_response_at=response,
                        station_id=station.id if station else None, parent_id=parent, paused_at=paused))
        self.event(number, opened, f"customer:telegram:50{number}", "opened")

    def clock(self, number: int, name: str, due: datetime, met: datetime | None = None,
              after: str | None = None) -> None:
        self.add(TicketClock(ticket_id=number, name=name, due_at=due, met_at=met, after=after))

    def event(self, number: int, when: datetime, actor: str, action: str) -> None:
        self.add(TicketEvent(ticket_id=number, at=when, actor=actor, action=action))

    def resolved(self, number: int, when: datetime, by: Staff | str) -> None:
        self.event(number, when, by if isinstance(by, str) else f"staff:{by.id}", "resolved")

    def survey(self, number: int, staff: Staff | None, answered: datetime | None, *, score: int | None,
               status: str = "rated", station: Station | None = None) -> None:
        self.surveys += 1
        self.add(Survey(ticket_id=number, round=self.surveys, platform="telegram", chat_id="-1001",
                        customer_user_id=f"50{number}", status=status, asked_at=at(10, 1), score=score,
                        answered_at=answered, staff_id=staff.id if staff else None,
                        station_id=station.id if station else None))


@pytest.fixture
def people(engine: Engine) -> tuple[Staff, Staff, Station]:
    with Session(engine, expire_on_commit=False) as session:
        d = Data(session)
        st = d.add(Station(name="示范供电所"))
        a = d.add(Staff(platform="telegram", user_id="901", name="李经理", role="grid_manager",
                        station_id=st.id, created_at=at(1, 1)))
        b = d.add(Staff(platform="telegram", user_id="902", name="王经理", role="grid_manager",
                        station_id=st.id, created_at=at(1, 1)))
        d.add(Staff(platform="telegram", user_id="903", name="赵所长", role="supervisor", created_at=at(1, 1)))
        _november(d, a, b, st)
        session.commit()
    return a, b, st


def _november(d: Data, a: Staff, b: Staff, st: Station) -> None:
    d.ticket(1, a, at(11, 2, 9), station=st, response=at(11, 2, 9, 10), kind="repair", status="closed")
    d.clock(1, "arrival", at(11, 2, 10, 30), met=at(11, 2, 10))
    d.clock(1, "restoration", at(11, 2, 14), met=at(11, 2, 13), after="arrival")
    d.resolved(1, at(11, 2, 13), a)

    d.ticket(2, b, at(11, 3, 9), station=st, response=at(11, 3, 9, 30), kind="repair")
    d.clock(2, "arrival", at(11, 3, 10, 30), met=at(11, 3, 11))
    d.clock(2, "restoration", at(11, 3, 15), met=at(11, 3, 14), after="arrival")
    d.resolved(2, at(11, 3, 14), a)
    d.event(2, at(11, 4, 8), "customer:telegram:502", "reopened")
    d.resolved(2, at(11, 5, 10), b)

    d.ticket(3, b, at(11, 5, 10), station=st, response=at(11, 5, 10, 20), kind="complaint")
    d.clock(3, "first_contact", at(11, 6, 10), met=at(11, 5, 10, 20))
    d.clock(3, "reply", at(11, 12), met=at(11, 10, 9))
    d.resolved(3, at(11, 10, 9), b)

    d.ticket(4, b, at(11, 20, 10), station=st, status="accepted", kind="complaint")
    d.clock(4, "first_contact", at(11, 21, 10))
    d.clock(4, "reply", at(11, 27))

    d.ticket(5, a, at(11, 23, 9), station=None, status="in_progress", response=at(11, 23, 9, 45),
             kind="inquiry")
    d.clock(5, "answer", at(11, 30))

    d.ticket(6, None, at(11, 2, 9, 5), station=st, status="merged", response=at(11, 2, 9, 6), kind="repair",
             parent=1)
    d.resolved(6, at(11, 2, 13), a)

    d.ticket(7, b, at(10, 31, 23, 59), station=st, response=at(11, 1, 0, 30))
    d.clock(7, "reply", at(11, 7))
    d.resolved(7, at(11, 1, 9), a)

    d.ticket(8, a, at(10, 10, 10), station=st, response=at(10, 10, 11))
    d.clock(8, "reply", at(10, 17), met=at(10, 12))
    d.resolved(8, at(10, 12), a)

    d.ticket(9, b, at(11, 30, 23, 50), station=st, kind="praise")
    d.clock(9, "acknowledge", at(12, 2), met=at(12, 1, 0, 10))
    d.resolved(9, at(12, 1, 0, 10), b)

    d.ticket(10, b, at(11, 1), station=st, status="new")
    d.clock(10, "reply", at(11, 7))

    d.ticket(11, b, at(11, 10, 10), station=st, status="waiting_customer", response=at(11, 10, 11),
             paused=at(11, 12, 10))
    d.clock(11, "reply", at(11, 17))

    d.ticket(12, a, at(11, 15, 10), station=st, status="cancelled", response=at(11, 15, 10, 20))
    d.clock(12, "reply", at(11, 20))

    d.ticket(13, b, at(11, 22, 10), station=st, status="accepted", response=at(11, 22, 10, 5), kind="repair")
    d.clock(13, "arrival", at(11, 22, 11, 30))
    d.clock(13, "restoration", at(11, 22, 15, 30), after="arrival")

    d.ticket(14, b, at(11, 6, 10), station=st, status="closed", response=at(11, 6, 10, 15))
    d.clock(14, "reply", at(11, 13), met=at(11, 7, 10))
    d.resolved(14, at(11, 7, 10), "system")

    # Ratings are credited to the manager frozen at rating time, not to the ticket's assignee today:
    # T2 and T7 are assigned to B now, but A was rated for them.
    d.survey(1, a, at(11, 2, 14), score=5, station=st)
    d.survey(2, a, at(11, 3, 15), score=2, status="awaiting_reason", station=st)
    d.survey(2, b, at(11, 5, 12), score=4, station=st)
    d.survey(3, b, at(11, 10, 12), score=3, station=st)
    d.survey(7, a, at(11, 1, 10), score=4, station=None)  # no station recorded: the settings' station
    d.survey(14, b, at(11, 9), score=None, status="no_rating", station=st)
    d.survey(8, a, at(10, 13), score=1, station=st)  # October
    d.survey(9, b, None, score=None, status="asked", station=st)  # not answered


@pytest.fixture
def report(ctx: Context, people: tuple[Staff, Staff, Station]) -> KpiReport:
    return report_for(ctx, *NOVEMBER)


def rows(report: KpiReport) -> tuple[KpiRow, KpiRow, KpiRow]:
    [a, b], [station] = report.managers, report.stations
    return a, b, station


def test_period_is_local_days_inclusive() -> None:
    period = Period.of(*NOVEMBER, SH)
    assert period.start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert period.end == datetime(2026, 11, 30, 16, tzinfo=UTC)
    with pytest.raises(ValueError, match="after it ends"):
        Period.of(date(2026, 12, 1), date(2026, 11, 30), SH)


def test_one_row_per_manager_with_activity_and_one_per_station(
        report: KpiReport, people: tuple[Staff, Staff, Station]) -> None:
    a, b, st = people
    assert [(r.id, r.name) for r in report.managers] == [(a.id, "李经理"), (b.id, "王经理")]  # not 赵所长
    assert [(r.id, r.name) for r in report.stations] == [(st.id, "示范供电所")]


def test_opened_and_handled(report: KpiReport) -> None:
    a, b, station = rows(report)
    assert (a.opened, b.opened, station.opened) == (3, 8, 11)  # T6 merged, T7 and T8 opened before November
    assert (a.merged, b.merged, station.merged) == (0, 0, 1)
    # A: T1 and T7 (resolved in November although opened in October); B: T2 (last resolution), T3, T14 (system).
    assert (a.handled, b.handled, station.handled) == (2, 3, 5)


def test_reopen_rate_charges_the_resolution_that_was_reopened(report: KpiReport) -> None:
    a, b, station = rows(report)
    assert (a.reopened, b.reopened, station.reopened) == (1, 0, 1)
    assert (a.reopen_rate, b.reopen_rate, station.reopen_rate) == (0.5, 0.0, 0.2)


def test_first_response_median_and_mean(report: KpiReport) -> None:
    a, b, station = rows(report)
    assert (a.first_response.count, a.first_response.median_minutes, a.first_response.mean_minutes) == (3, 20, 25)
    assert (b.first_response.count, b.first_response.median_minutes, b.first_response.mean_minutes) == (5, 20, 26)
    assert station.first_response.count == 8 and station.first_response.median_minutes == 20
    assert station.first_response.mean_minutes == pytest.approx(25.625)


def test_on_time_per_clock(report: KpiReport) -> None:
    a, b, station = rows(report)

    def figures(row: KpiRow) -> dict[str, tuple[int, int]]:
        return {name: (o.on_time, o.late) for name, o in row.on_time if o.decided}

    assert figures(a) == {"arrival": (1, 0), "restoration": (1, 0)}  # T5 not due yet, T12 cancelled
    assert figures(b) == {"arrival": (0, 2), "restoration": (1, 0), "first_contact": (1, 1), "reply": (2, 1),
                          "acknowledge": (1, 0)}
    assert figures(station) == {"arrival": (1, 2), "restoration": (2, 0), "first_contact": (1, 1),
                                "reply": (2, 1), "acknowledge": (1, 0)}
    assert b.clock("reply").rate == pytest.approx(2 / 3) and b.clock("answer").rate is None
    assert (b.on_time_overall.on_time, b.on_time_overall.late) == (5, 4)
    assert station.on_time_overall.rate == pytest.approx(7 / 11)
    assert [name for name, _ in station.on_time][:8] == ["arrival", "restoration", "first_contact", "reply",
                                                         "answer", "acknowledge", "handle", "reopen"]


def test_satisfaction_follows_the_frozen_manager(report: KpiReport) -> None:
    a, b, station = rows(report)
    sa, sb, ss = a.satisfaction, b.satisfaction, station.satisfaction
    assert (sa.count, sa.satisfied, sa.fairly_satisfied, sa.dissatisfied, sa.no_rating) == (3, 2, 0, 1, 0)
    assert sa.mean_score == pytest.approx(11 / 3)
    assert (sb.count, sb.satisfied, sb.fairly_satisfied, sb.dissatisfied, sb.no_rating) == (2, 1, 1, 0, 1)
    assert (sb.satisfied_share, sb.fairly_satisfied_share, sb.dissatisfied_share, sb.mean_score) == (
        0.5, 0.5, 0.0, 3.5)
    assert (ss.count, ss.satisfied_share, ss.fairly_satisfied_share, ss.dissatisfied_share) == (5, 0.6, 0.2, 0.2)
    assert ss.mean_score == pytest.approx(3.6) and ss.no_rating == 1


def test_json_document_rounds_rates_and_keeps_numbers(report: KpiReport, people: tuple[Staff, Staff, Station]
                                                      ) -> None:
    doc = report_dict(report)
    assert doc["period"] == {"from": "2026-11-01", "to": "2026-11-30", "timezone": "Asia/Shanghai",
                             "start": "2026-11-01T00:00:00+08:00", "end": "2026-12-01T00:00:00+08:00"}
    a, b = doc["managers"]
    assert a["staff_id"] == people[0].id and a["reopen_rate"] == 0.5
    assert a["satisfaction"] == {"count": 3, "satisfied": 2, "fairly_satisfied": 0, "dissatisfied": 1,
                                 "satisfied_share": 0.667, "fairly_satisfied_share": 0.0,
                                 "dissatisfied_share": 0.333, "mean_score": 3.67, "no_rating": 0}
    assert b["on_time"]["overall"] == {"on_time": 5, "late": 4, "rate": 0.556}
    assert b["on_time"]["by_clock"]["answer"] == {"on_time": 0, "late": 0, "rate": None}
    [station] = doc["stations"]
    assert station["first_response"] == {"count": 8, "median_minutes": 20.0, "mean_minutes": 25.6}
    assert station["on_time"]["by_clock"]["arrival"]["rate"] == 0.333


def test_clocks_due_after_now_are_undecided_until_they_pass(ctx: Context, clock: FakeClock, engine: Engine,
                                                            people: tuple[Staff, Staff, Station]) -> None:
    _, b, st = people
    with Session(engine) as session:  # due after the period: never judged by November's report
        Data(session).ticket(15, b, at(11, 29, 10), station=st, status="accepted")
        Data(session).clock(15, "reply", at(12, 3))
        session.commit()
    clock.advance(days=10)  # December 4th
    [row_a, row_b] = report_for(ctx, *NOVEMBER).managers
    assert (row_a.clock("answer").on_time, row_a.clock("answer").late) == (0, 1)  # T5, due 11-30
    # T4's reply (due 11-27) is late now; T11 still waits for the customer; T15 falls due after November.
    assert (row_b.clock("reply").on_time, row_b.clock("reply").late) == (2, 2)


def test_empty_period_and_tickets_without_a_station(engine: Engine, ctx: Context) -> None:
    report = report_for(ctx, date(2026, 11, 1), date(2026, 11, 1))
    assert report.managers == () and [(r.id, r.name, r.opened) for r in report.stations] == [(None, "示范供电所", 0)]
    with Session(engine) as session:
        Data(session).ticket(1, None, at(11, 1, 12), station=None, status="new")
        session.commit()
    with ctx.uow() as uow:
        report = kpi_report(uow, Period.of(date(2026, 11, 1), date(2026, 11, 1), SH), now=ctx.clock(),
                            station_name="幸福供电所")
    [station] = report.stations
    assert (station.id, station.name, station.opened, station.handled, station.reopen_rate) == (
        None, "幸福供电所", 1, 0, None)
