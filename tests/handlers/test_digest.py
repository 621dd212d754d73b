"""Supervisors' digests: the figures on a known day, the text, and once per period across restarts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine

from bot.bootstrap import build_context
from config.settings import load_settings
from handlers.context import Context
from handlers.digest import chart_input, figures, send_due
from handlers.router import handle
from handlers.types import ChatRef, Send
from storage.models import RiskEvent, Staff
from tests.conftest import FakeClock
from tests.handlers.helpers import add_manager, message

SUPERVISOR = ChatRef("telegram", "950")
MONDAY_0759 = datetime(2026, 11, 29, 23, 59, tzinfo=UTC)  # Monday 30 Nov, 07:59 in Shanghai


def supervisor(ctx: Context, user_id: str = "950", name: str = "王所长") -> None:
    with ctx.uow() as uow:
        uow.staff.upsert(Staff(platform="telegram", user_id=user_id, name=name, role="supervisor",
                               created_at=ctx.clock()))
        uow.commit()


def a_day_at_the_station(ctx: Context, clock: FakeClock) -> None:
    """Sunday 29 Nov in Shanghai: three appeals, one rating, two risk events."""
    add_manager(ctx)
    handle(message("/bind 幸福村台区 rural", user="900", name="李经理"), ctx)
    clock.now = datetime(2026, 11, 29, 1, 0, tzinfo=UTC)  # Sunday 09:00 in Shanghai
    handle(message("我家停电了", user="501"), ctx)  # repair: arrival due in 90 min, overdue by Monday
    handle(message("我要投诉抄表员态度差", user="502"), ctx)  # complaint: first contact 24 h, not yet due
    handle(message("电费怎么交", user="503"), ctx)
    handle(message("/resolve 3 已告知缴费方式", user="900", private=True), ctx)
    with ctx.uow() as uow:
        asked = uow.surveys.latest(3)
        assert asked is not None
        asked.status, asked.score, asked.answered_at = "rated", 4, clock.now + timedelta(hours=1)
        uow.surveys.save(asked)
        for category, action in (("ad", "deleted"), ("abuse", "pending")):
            uow.risk.add(RiskEvent(platform="telegram", chat_id="-1001", message_id="x", sender_user_id="600",
                                   category=category, level="block", word="w", action=action, at=clock.now))
        uow.commit()


def digests(outcome_actions: list[object], chat: ChatRef = SUPERVISOR) -> list[str]:
    return [a.text for a in outcome_actions if isinstance(a, Send) and a.chat == chat and a.photo is None]


def charts(outcome_actions: list[object], chat: ChatRef = SUPERVISOR) -> list[Send]:
    return [a for a in outcome_actions if isinstance(a, Send) and a.chat == chat and a.photo is not None]


def test_the_daily_digest_counts_a_known_day_and_goes_out_once(ctx: Context, clock: FakeClock,
                                                               engine: Engine) -> None:
    supervisor(ctx)
    a_day_at_the_station(ctx, clock)
    clock.now = MONDAY_0759
    assert send_due(ctx).actions == []  # not before 08:00

    clock.advance(minutes=1)
    sent = send_due(ctx)
    daily, weekly = digests(sent.actions)  # Monday: the weekly one too
    assert daily.startswith("【每日简报】11月29日 示范供电所")
    assert "新增 3，待办 2，超期 1，升级 0" in daily
    assert "李经理：待办 2，超期 1" in daily
    assert "评价 1 条，满意 100%，均分 4.0" in daily
    assert "风险事件 2 起（已删除 1，待审核 1）" in daily and "广告 1" in daily
    assert "工单 1【故障报修】李经理，已超期" in daily
    assert weekly.startswith("【每周简报】11月23日–11月29日")

    assert send_due(ctx).actions == []  # once per day
    restarted = build_context(load_settings(), engine)
    restarted.clock = clock
    assert send_due(restarted).actions == []  # and across a restart

    clock.advance(days=1)  # Tuesday: a new daily digest, no weekly one
    assert len(digests(send_due(ctx).actions)) == 1


def test_every_supervisor_gets_it_and_managers_do_not(ctx: Context, clock: FakeClock) -> None:
    supervisor(ctx)
    supervisor(ctx, "951", "赵主任")
    add_manager(ctx)
    clock.now = MONDAY_0759 + timedelta(days=1, minutes=1)  # Tuesday 08:00
    assert send_due(ctx).actions == []  # nothing happened and nothing is open: no digest at all
    handle(message("电费怎么交"), ctx)  # one open inquiry
    sent = send_due(ctx)
    assert len(digests(sent.actions)) == 1
    assert len(digests(sent.actions, ChatRef("telegram", "951"))) == 1
    assert digests(sent.actions, ChatRef("telegram", "900")) == []
    assert "没有新的评价" in digests(sent.actions)[0]


def test_each_digest_comes_with_its_chart_once_and_a_failed_drawing_costs_only_the_picture(
        ctx: Context, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> None:
    supervisor(ctx)
    a_day_at_the_station(ctx, clock)
    clock.now = MONDAY_0759 + timedelta(minutes=1)
    sent = send_due(ctx)
    daily_chart, weekly_chart = charts(sent.actions)
    assert daily_chart.photo is not None and daily_chart.photo.startswith(b"\x89PNG")
    assert daily_chart.text.startswith("【每日简报】11月29日：近 14 天新增与办结工单")
    assert weekly_chart.text.startswith("【每周简报】")
    with ctx.uow() as uow:
        data = chart_input(uow, ctx, figures(uow, ctx, "t", MONDAY_0759 - timedelta(days=1), MONDAY_0759),
                           date(2026, 11, 30))
    assert data.days[0] == date(2026, 11, 16) and data.days[-1] == date(2026, 11, 29)
    assert data.opened[-1] == 3 and data.resolved[-1] == 1 and sum(data.opened) == 3
    assert data.by_manager == [("李经理", 2, 1)]

    def broken(_: object) -> bytes:
        raise RuntimeError("no fonts today")

    monkeypatch.setattr("handlers.digest_chart.render_png", broken)
    clock.advance(days=1)  # Tuesday: the daily digest goes out as text alone
    again = send_due(ctx)
    assert len(digests(again.actions)) == 1 and charts(again.actions) == []
