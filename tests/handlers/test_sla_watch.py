"""Deadline warnings and escalation on real tickets opened through the core, on SQLite and PostgreSQL.

Time is moved with the FakeClock; each test sweeps the way the scheduler does, and reads what was queued.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.bootstrap import build_context
from config.settings import load_settings
from handlers.context import Context
from handlers.router import handle
from handlers.sla_watch import sweep
from handlers.types import ChatRef, Outcome, Send
from storage.models import Staff, TicketAlert
from storage.repositories import Alerts
from tests.conftest import FakeClock
from tests.handlers.helpers import add_manager, message

MANAGER = ChatRef("telegram", "900")
SUPERVISOR = ChatRef("telegram", "800")
ADMIN = ChatRef("telegram", "700")
COUNTY = ChatRef("telegram", "-100999")
SHANGHAI_0929_1000 = datetime(2026, 9, 29, 2, 0, tzinfo=UTC)  # Tue 29 Sep 2026, 10:00 in Shanghai


def add_staff(ctx: Context, role: str, chat: ChatRef, name: str) -> None:
    with ctx.uow() as uow:
        uow.staff.upsert(Staff(platform=chat.platform, user_id=chat.chat_id, name=name, role=role,
                               created_at=ctx.clock()))
        uow.commit()


def station(ctx: Context, *, supervisor: bool = True, bound: bool = True) -> None:
    """A manager who owns the group (bound to a rural area with /bind), and the station's head."""
    add_manager(ctx)
    if supervisor:
        add_staff(ctx, "supervisor", SUPERVISOR, "张所长")
    if bound:
        handle(message("/bind 幸福村台区 rural", user="900", name="李经理"), ctx)


def appeal(ctx: Context, text: str = "我家停电了") -> int:
    opened = handle(message(text), ctx)
    assert opened.ticket_number is not None, text
    return int(opened.ticket_number)


def sends(outcome: Outcome) -> list[tuple[ChatRef, str]]:
    return [(a.chat, a.text) for a in outcome.actions if isinstance(a, Send)]


def alert_rows(ctx: Context, ticket: int = 1) -> list[TicketAlert]:
    with ctx.uow() as uow:
        return list(uow.alerts.for_ticket(ticket))


def queued_alert_texts(ctx: Context) -> list[str]:
    """Alert messages in the outbox (the opening replies and the manager's new-ticket note excluded)."""
    with ctx.uow() as uow:
        return [row.text for row in uow.outbox.pending("telegram")
                if row.text.startswith(("【临期提醒】", "【超期 L1】", "【超期 L2】", "【重要工单】"))]


def test_a_minute_clock_warns_the_assignee_at_75_percent_once(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    number = appeal(ctx)
    clock.advance(minutes=67)  # rural arrival is 90 min: the warning is due at 67.5 min
    assert sends(sweep(ctx)) == []
    clock.advance(seconds=30)
    [(chat, text)] = sends(sweep(ctx))
    assert chat == MANAGER
    assert text.startswith(f"【临期提醒】工单 {number}【故障报修】的「到达现场」将于")
    assert "王大爷：我家停电了" in text
    for _ in range(3):
        assert sends(sweep(ctx)) == []
    [alert] = alert_rows(ctx, number)
    assert (alert.key, alert.level, alert.recipients) == (f"{number}:{alert.clock_id}:warn", "warn", 1)
    with ctx.uow() as uow:
        [event] = [e for e in uow.tickets.events(number) if e.actor == "system" and e.action == "warned"]
    assert event.data["level"] == "warn" and event.data["clock"] == "arrival"


def test_an_hour_clock_warns_at_75_percent(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    appeal(ctx, "我要投诉你们的服务态度")  # first contact within 24 h: warned at 18 h
    clock.advance(hours=17, minutes=59)
    assert sends(sweep(ctx)) == []
    clock.advance(minutes=1)
    [(chat, text)] = sends(sweep(ctx))
    assert chat == MANAGER and "【投诉】的「首次联系」" in text


def test_a_breach_goes_to_the_supervisor_then_to_the_county_after_the_delay(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    ctx.county_chats = (COUNTY,)
    number = appeal(ctx, "我家停电了，电话13812345678")
    clock.advance(minutes=90)  # breached at first sight: no warning any more, L1 at once
    [(chat, text)] = sends(sweep(ctx))
    assert chat == SUPERVISOR and text.startswith(f"【超期 L1】工单 {number}【故障报修】的「到达现场」已于")
    assert "受理人：李经理" in text and "群：幸福村客户群" in text
    assert "13812345678" in text  # the supervisor's private chat: the number is needed to call back
    clock.advance(minutes=119)
    assert sends(sweep(ctx)) == []
    clock.advance(minutes=1)  # ctx.l2_delay (2 h) after the breach
    [(chat, text)] = sends(sweep(ctx))
    assert chat == COUNTY and text.startswith(f"【超期 L2】工单 {number}")
    assert "13812345678" not in text and "138****5678" in text  # a group chat: masked
    assert [a.level for a in alert_rows(ctx, number)] == ["L1", "L2"]
    clock.advance(hours=6)  # past the restoration estimate too: it has not started (arrival is unmet)
    assert sends(sweep(ctx)) == []
    assert [text[:7] for text in queued_alert_texts(ctx)] == ["【超期 L1】", "【超期 L2】"]


def test_long_overdue_at_first_sight_gets_l1_and_l2_in_one_sweep(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    ctx.county_chats = (COUNTY,)
    appeal(ctx)
    clock.advance(hours=5)
    assert [(chat, text[:7]) for chat, text in sends(sweep(ctx))] == [
        (SUPERVISOR, "【超期 L1】"), (COUNTY, "【超期 L2】")]
    assert sends(sweep(ctx)) == []


def test_a_working_day_clock_warns_two_working_days_before_over_national_day(
        ctx: Context, clock: FakeClock) -> None:
    clock.now = SHANGHAI_0929_1000
    station(ctx)
    number = appeal(ctx, "我要投诉你们的服务态度")
    with ctx.uow() as uow:  # the manager called the customer back: only the 5 WD reply clock is left
        clocks = {c.name: c for c in uow.tickets.clocks(number)}
        clocks["first_contact"].met_at = clock.now
        uow.tickets.save_clock(clocks["first_contact"])
        uow.commit()
    # 5 WD from Tue 29 Sep: 30 Sep, 8, 9, 10 (调休 Saturday), 12 Oct → due 13 Oct 00:00; the last two
    # working days are Sat 10 and Mon 12, so the warning is due at the start of the 调休 Saturday.
    assert clocks["reply"].due_at == datetime(2026, 10, 13, tzinfo=ctx.tz)
    clock.now = datetime(2026, 10, 9, 23, 59, tzinfo=ctx.tz)  # through the holiday: nothing yet
    assert sends(sweep(ctx)) == []
    clock.now = datetime(2026, 10, 10, 0, 0, tzinfo=ctx.tz)
    [(chat, text)] = sends(sweep(ctx))
    assert chat == MANAGER and "的「答复」将于 10月12日（周一） 到期" in text
    clock.now = datetime(2026, 10, 13, 0, 0, tzinfo=ctx.tz)
    [(chat, text)] = sends(sweep(ctx))
    assert chat == SUPERVISOR and "【超期 L1】" in text


def test_a_date_beyond_the_calendar_warns_by_monday_to_friday(
        ctx: Context, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    clock.now = datetime(2026, 12, 28, 10, 0, tzinfo=ctx.tz)  # Monday; chinesecalendar stops at 2026
    station(ctx)
    number = appeal(ctx, "我要投诉你们的服务态度")
    with ctx.uow() as uow:
        [first, reply] = uow.tickets.clocks(number)
        first.met_at = clock.now
        uow.tickets.save_clock(first)
        uow.commit()
    assert reply.due_at == datetime(2027, 1, 5, tzinfo=ctx.tz)  # Mon-Fri: 29, 30, 31 Dec, 1 and 4 Jan
    clock.now = datetime(2026, 12, 31, 23, 59, tzinfo=ctx.tz)
    with caplog.at_level(logging.ERROR, logger="handlers.sla_watch"):
        assert sends(sweep(ctx)) == []
    assert any("Monday to Friday" in r.getMessage() for r in caplog.records)
    clock.now = datetime(2027, 1, 1, 0, 0, tzinfo=ctx.tz)  # two Mon-Fri days before the deadline
    [(chat, _)] = sends(sweep(ctx))
    assert chat == MANAGER


def test_nothing_more_once_the_clock_is_met(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    number = appeal(ctx)
    clock.advance(minutes=70)
    assert [chat for chat, _ in sends(sweep(ctx))] == [MANAGER]
    with ctx.uow() as uow:  # the crew is on site
        arrival = next(c for c in uow.tickets.clocks(number) if c.name == "arrival")
        arrival.met_at = clock.now
        uow.tickets.save_clock(arrival)
        uow.commit()
    clock.advance(minutes=30)  # past the arrival deadline
    assert sends(sweep(ctx)) == []


def test_nothing_more_once_the_ticket_is_resolved(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    ctx.county_chats = (COUNTY,)
    number = appeal(ctx)
    clock.advance(minutes=90)
    assert [chat for chat, _ in sends(sweep(ctx))] == [SUPERVISOR]
    handle(message(f"/resolve {number} 已恢复供电", user="900", name="李经理", private=True), ctx)
    clock.advance(hours=8)  # L2 would be due, and the restoration clock too
    assert sends(sweep(ctx)) == []


def test_a_ticket_waiting_for_the_customer_is_skipped(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    number = appeal(ctx)
    with ctx.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None
        ticket.status, ticket.paused_at = "waiting_customer", clock.now
        uow.tickets.save(ticket)
        uow.commit()
    clock.advance(hours=8)
    assert sends(sweep(ctx)) == []
    assert alert_rows(ctx, number) == []


def test_an_important_customer_goes_to_the_county_at_once_and_only_once(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    ctx.county_chats = (COUNTY,)
    number = appeal(ctx)
    with ctx.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None
        ticket.important = True
        uow.tickets.save(ticket)
        uow.commit()
    [(chat, text)] = sends(sweep(ctx))
    assert chat == COUNTY
    assert text.startswith(f"【重要工单】工单 {number}【故障报修】重要客户，直接报送服务指挥中心。")
    assert sends(sweep(ctx)) == []
    [alert] = alert_rows(ctx, number)
    assert (alert.key, alert.level, alert.clock_id) == (f"{number}:-:L2now", "L2now", None)


def test_a_grave_complaint_goes_to_the_admins_when_no_county_chat_is_set(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    add_staff(ctx, "admin", ADMIN, "管理员")
    number = appeal(ctx, "我要投诉你们的服务态度")
    with ctx.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None
        ticket.level = "重大"
        uow.tickets.save(ticket)
        uow.commit()
    [(chat, text)] = sends(sweep(ctx))
    assert chat == ADMIN and "【投诉】重大投诉，直接报送" in text


def test_without_an_assignee_the_warning_goes_to_the_supervisor(ctx: Context, clock: FakeClock) -> None:
    add_staff(ctx, "supervisor", SUPERVISOR, "张所长")  # no grid manager at all: nobody takes the ticket
    number = appeal(ctx)
    with ctx.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.assignee_id is None
    clock.advance(minutes=68)
    [(chat, text)] = sends(sweep(ctx))
    assert chat == SUPERVISOR and text.startswith("【临期提醒】")


def test_without_supervisors_l1_and_l2_go_to_the_admins(ctx: Context, clock: FakeClock) -> None:
    station(ctx, supervisor=False)
    add_staff(ctx, "admin", ADMIN, "管理员")
    appeal(ctx)
    clock.advance(hours=5)
    assert [(chat, text[:7]) for chat, text in sends(sweep(ctx))] == [(ADMIN, "【超期 L1】"), (ADMIN, "【超期 L2】")]


def test_an_alert_without_any_recipient_is_recorded_not_retried(
        ctx: Context, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    station(ctx, supervisor=False)
    number = appeal(ctx)
    clock.advance(minutes=90)
    with caplog.at_level(logging.WARNING, logger="handlers.sla_watch"):
        assert sends(sweep(ctx)) == []
    assert any("no recipient" in r.getMessage() for r in caplog.records)
    [alert] = alert_rows(ctx, number)
    assert (alert.level, alert.recipients) == ("L1", 0)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="handlers.sla_watch"):
        assert sends(sweep(ctx)) == []
    assert [r for r in caplog.records if r.name == "handlers.sla_watch"] == []


def test_a_restarted_instance_sends_nothing_already_sent(ctx: Context, clock: FakeClock, engine: Engine) -> None:
    station(ctx)
    ctx.county_chats = (COUNTY,)
    number = appeal(ctx)
    clock.advance(minutes=70)
    assert len(sends(sweep(ctx))) == 1
    restarted = build_context(load_settings(), engine)  # same database, fresh process state
    restarted.clock, restarted.county_chats = clock, (COUNTY,)
    assert sends(sweep(restarted)) == []
    clock.advance(minutes=20)
    assert [chat for chat, _ in sends(sweep(restarted))] == [SUPERVISOR]
    assert sends(sweep(ctx)) == []
    assert [a.level for a in alert_rows(ctx, number)] == ["warn", "L1"]


def test_two_instances_sweeping_at_the_same_time_send_each_alert_once(
        ctx: Context, clock: FakeClock, engine: Engine) -> None:
    station(ctx)
    ctx.county_chats = (COUNTY,)
    for user in ("501", "502", "503"):
        handle(message("我家停电了", user=user, chat=ChatRef("telegram", f"-2{user}")), ctx)
    other = build_context(load_settings(), engine)
    other.clock, other.county_chats = clock, (COUNTY,)
    clock.advance(hours=5)  # L1 and L2 for each of the three arrival clocks
    barrier, results = threading.Barrier(2), []

    def run(instance: Context) -> None:
        barrier.wait()
        results.append(sweep(instance))

    threads = [threading.Thread(target=run, args=(instance,)) for instance in (ctx, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # An instance that lost the race on SQLite's write lock (rather than on the key) retries at its next sweep.
    results += [sweep(ctx), sweep(other)]
    total = sum(len(outcome.queued) for outcome in results)
    assert total == 6 and len(queued_alert_texts(ctx)) == 6
    assert sum(len(alert_rows(ctx, n)) for n in (1, 2, 3)) == 6


def test_a_key_claimed_between_check_and_insert_is_rolled_back_quietly(
        ctx: Context, clock: FakeClock, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    station(ctx)
    number = appeal(ctx)
    clock.advance(minutes=90)
    [_] = sends(sweep(ctx))
    other = build_context(load_settings(), engine)
    other.clock = clock
    monkeypatch.setattr(Alerts, "sent", lambda self, key: False)  # both checks pass: the unique key decides
    assert sends(sweep(other)) == []
    assert len(alert_rows(ctx, number)) == 1 and len(queued_alert_texts(ctx)) == 1
    with ctx.uow() as uow:
        assert [e.action for e in uow.tickets.events(number)].count("escalated") == 1


def test_one_failing_alert_does_not_block_the_others(
        ctx: Context, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    station(ctx)
    ctx.county_chats = (COUNTY,)
    appeal(ctx)
    clock.advance(hours=5)
    original = Alerts.claim

    def claim(self: Alerts, alert: TicketAlert) -> TicketAlert:
        if alert.level == "L1":
            raise RuntimeError("database hiccup")
        return original(self, alert)

    monkeypatch.setattr(Alerts, "claim", claim)
    assert [chat for chat, _ in sends(sweep(ctx))] == [COUNTY]
    monkeypatch.setattr(Alerts, "claim", original)
    assert [chat for chat, _ in sends(sweep(ctx))] == [SUPERVISOR]  # retried at the next sweep
    assert sends(sweep(ctx)) == []


def test_timestamps_are_recorded_in_utc(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    number = appeal(ctx)
    clock.advance(minutes=90)
    sweep(ctx)
    [alert] = alert_rows(ctx, number)
    assert alert.at == clock.now and alert.at.utcoffset() == timedelta(0)


def test_quiet_hours_hold_warnings_and_l1_until_morning_but_not_the_county(ctx: Context, clock: FakeClock) -> None:
    from datetime import time

    station(ctx)
    ctx.quiet_hours = (time(22, 0), time(7, 0))
    ctx.county_chats = (COUNTY,)
    clock.now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 23:00 in Shanghai
    appeal(ctx)
    clock.advance(hours=1, minutes=35)  # 00:35: the arrival clock (90 min) is breached, but it is night
    assert sends(sweep(ctx)) == []
    clock.advance(hours=2)  # 02:35: L2 is due and is the most severe: it goes out at night
    assert [chat for chat, _ in sends(sweep(ctx))] == [COUNTY]
    clock.now = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)  # 07:00: the station hears of it in the morning
    [(chat, text)] = sends(sweep(ctx))
    assert chat == SUPERVISOR and text.startswith("【超期 L1】")
    assert sends(sweep(ctx)) == []
