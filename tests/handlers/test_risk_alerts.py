"""Supervisors hear of deleted messages at once, once per group per gap, and at night only of urgent ones."""

from __future__ import annotations

from datetime import UTC, datetime, time

from handlers.context import Context
from handlers.risk_alerts import night_summary
from handlers.router import handle
from handlers.types import ChatRef
from storage.models import Staff
from tests.conftest import FakeClock
from tests.handlers.helpers import OTHER_GROUP, add_manager, message, texts_to

SUPERVISOR = ChatRef("telegram", "950")
OTHER_STATION_HEAD = ChatRef("telegram", "951")
MANAGER = ChatRef("telegram", "900")
NIGHT = datetime(2026, 11, 24, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai


def station(ctx: Context) -> None:
    """A manager with both groups bound to 台区 of this station, its head, and another station's head."""
    add_manager(ctx)
    handle(message("/bind 幸福村台区 rural", user="900", name="李经理"), ctx)
    handle(message("/bind 阳光小区台区 city", user="900", name="李经理", chat=OTHER_GROUP), ctx)
    with ctx.uow() as uow:
        home = uow.stations.get_or_create(ctx.station_name)
        other = uow.stations.get_or_create("另一供电所")
        uow.staff.upsert(Staff(platform="telegram", user_id="950", name="张所长", role="supervisor",
                               station_id=home.id, created_at=ctx.clock()))
        uow.staff.upsert(Staff(platform="telegram", user_id="951", name="赵所长", role="supervisor",
                               station_id=other.id, created_at=ctx.clock()))
        uow.commit()


def test_a_deleted_message_alerts_the_stations_supervisor_at_once_and_only_them(ctx: Context) -> None:
    station(ctx)
    outcome = handle(message("专业代开发票，价格优惠 13812345678", message_id="m9"), ctx)
    [alert] = texts_to(outcome.actions, SUPERVISOR)
    assert alert.startswith("【风险警报】幸福村客户群") and "王大爷" in alert and "广告" in alert
    assert "13812345678" not in alert  # the excerpt is masked when recorded
    assert texts_to(outcome.actions, OTHER_STATION_HEAD) == []
    assert texts_to(outcome.actions, MANAGER)  # the manager's own alert is unchanged


def test_one_group_is_alerted_once_per_gap_and_another_group_on_its_own(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    assert texts_to(handle(message("代开发票1", user="601"), ctx).actions, SUPERVISOR)
    clock.advance(minutes=3)
    assert texts_to(handle(message("代开发票2", user="602"), ctx).actions, SUPERVISOR) == []
    assert texts_to(handle(message("代开发票3", user="603", chat=OTHER_GROUP), ctx).actions, SUPERVISOR)
    clock.advance(minutes=11)
    assert texts_to(handle(message("代开发票4", user="604"), ctx).actions, SUPERVISOR)


def test_the_third_strike_tells_the_supervisor_the_member_is_muted(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    ctx.risk_alert_gap = ctx.risk_alert_gap * 0  # every deletion alerts
    for n in range(2):
        handle(message(f"代开发票{n}"), ctx)
    [alert] = texts_to(handle(message("代开发票，找我"), ctx).actions, SUPERVISOR)
    assert "已被禁言" in alert


def test_at_night_only_fraud_goes_out_and_the_rest_is_summed_up_in_the_morning_once(
        ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    ctx.quiet_hours = (time(22, 0), time(7, 0))
    clock.now = NIGHT
    assert texts_to(handle(message("代开发票", user="601"), ctx).actions, SUPERVISOR) == []
    clock.advance(minutes=30)
    assert texts_to(handle(message("代开发票便宜", user="602", chat=OTHER_GROUP), ctx).actions, SUPERVISOR) == []
    [fraud] = texts_to(handle(message("快来领取电费补贴", user="603"), ctx).actions, SUPERVISOR)
    assert "诈骗" in fraud
    assert night_summary(ctx).actions == []  # still night
    clock.now = datetime(2026, 11, 24, 23, 0, tzinfo=UTC)  # 07:00
    summary = night_summary(ctx)
    [text] = texts_to(summary.actions, SUPERVISOR)
    assert text.startswith("【夜间风险汇总】22:00–07:00 共自动删除违规消息 2 条")
    assert "幸福村客户群 1 条" in text and "阳光小区客户群 1 条" in text and "广告 2" in text
    assert texts_to(summary.actions, OTHER_STATION_HEAD) == []
    clock.advance(minutes=1)
    assert night_summary(ctx).actions == []  # once per night and supervisor, even across a restart
    with ctx.uow() as uow:
        head = uow.staff.find("telegram", "950")
        assert head is not None
        assert uow.digest.existing_keys([f"risk-night:2026-11-25:{head.id}"])


def test_no_quiet_hours_means_no_summary(ctx: Context, clock: FakeClock) -> None:
    station(ctx)
    clock.now = NIGHT
    assert texts_to(handle(message("代开发票"), ctx).actions, SUPERVISOR)
    clock.advance(hours=8)
    assert night_summary(ctx).actions == []
