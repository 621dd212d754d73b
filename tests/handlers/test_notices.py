"""Outage notices and announcements as managers publish them from the chat (/notice, /notices) and as the
groups receive them: the phases at their Asia/Shanghai times, each fired once per group, change, cancel,
restore, the legal notice-period warnings and the publisher's delivery report. The clock is a FakeClock
starting on Tuesday 2026-11-24 10:00 in Shanghai."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text as sql
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from handlers import notices as core
from handlers.commands.notices import BadTime, read_when, split_names
from handlers.context import Context
from handlers.router import handle
from handlers.types import ChatRef, Outcome, Send
from storage.models import Notice, NoticePhase, OutboxMessage
from tests.conftest import FakeClock
from tests.handlers.helpers import GROUP, OTHER_GROUP, add_manager, message, texts_to

SH = ZoneInfo("Asia/Shanghai")
MANAGER = ChatRef("telegram", "900")
THIRD = ChatRef("telegram", "-1003")  # bound to no area unless a test binds it


def say(ctx: Context, text: str, *, private: bool = True, chat: ChatRef = GROUP, user: str = "900",
        message_id: str | None = None) -> Outcome:
    return handle(message(text, user=user, name="李经理", private=private, chat=chat, message_id=message_id), ctx)


def reply(outcome: Outcome) -> str:
    return "\n".join(texts_to(outcome.actions, MANAGER))


def bind(ctx: Context, chat: ChatRef, area: str) -> None:
    assert "已绑定" in "".join(texts_to(say(ctx, f"/bind {area} rural", private=False, chat=chat).actions, chat))


@pytest.fixture
def groups(ctx: Context, engine: Engine) -> Context:
    """幸福村台区 ← GROUP, 光明村台区 ← OTHER_GROUP; THIRD is known but bound to no area."""
    with engine.begin() as conn:  # notice numbers start at 1 in every test, as tickets do
        if conn.dialect.name == "postgresql":
            for table in ("notice", "notice_phase"):
                conn.execute(sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 1, false)"))
    add_manager(ctx)
    bind(ctx, GROUP, "幸福村台区")
    bind(ctx, OTHER_GROUP, "光明村台区")
    say(ctx, "大家好", private=False, chat=THIRD, user="501")  # the bot sees the group: it is recorded
    return ctx


def local(moment: datetime) -> str:
    return f"{moment.astimezone(SH):%m-%d %H:%M}"


def phases(ctx: Context, number: int = 1) -> list[NoticePhase]:
    with ctx.uow() as uow:
        return list(uow.notices.phases(number))


def plan(ctx: Context, number: int = 1) -> list[tuple[str, str, str]]:
    return [(p.phase, local(p.due_at), p.status) for p in phases(ctx, number)]


def phase_id(ctx: Context, name: str, number: int = 1, status: str = "pending") -> int:
    [found] = [p for p in phases(ctx, number) if p.phase == name and p.status == status]
    assert found.id is not None
    return found.id


def stored(ctx: Context, number: int = 1) -> Notice:
    with ctx.uow() as uow:
        found = uow.notices.get(number)
        assert found is not None
        return found


def notice_rows(ctx: Context) -> list[OutboxMessage]:
    with ctx.uow() as uow:
        return list(uow.session.exec(select(OutboxMessage).where(col(OutboxMessage.notice_phase_id).is_not(None))
                                     .order_by(col(OutboxMessage.id))).all())


def group_texts(outcome: Outcome) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for action in outcome.actions:
        if isinstance(action, Send) and action.chat != MANAGER:
            found.setdefault(action.chat.chat_id, []).append(action.text)
    return found


PLANNED = "/notice planned 幸福村台区 12-04 08:00 18:00 10kV幸福线检修 电话:13812345678"


# ------------------------------------------------------------------------------------------------ publishing
def test_a_planned_notice_ten_days_ahead_plans_every_phase_and_reaches_only_the_bound_groups(
        groups: Context) -> None:
    outcome = say(groups, PLANNED)
    assert set(group_texts(outcome)) == {GROUP.chat_id}  # not 光明村台区's group, not the unbound one
    [text] = group_texts(outcome)[GROUP.chat_id]
    assert text.startswith("【停电通知】")
    for part in ("类型：计划停电", "范围：幸福村台区", "时间：12月4日 08:00 至 12月4日 18:00", "原因：10kV幸福线检修",
                 "联系电话：李经理 13812345678", "通知编号 1"):
        assert part in text, part  # the contact number is published on purpose: not masked

    assert plan(groups) == [("published", "11-24 10:00", "sent"), ("day_before", "12-03 18:00", "pending"),
                            ("soon", "12-04 07:30", "pending"), ("start", "12-04 08:00", "pending")]
    answer = reply(outcome)
    assert answer.splitlines()[:3] == ["通知 1（计划停电）已发布，已发往 1 个群。", "群：幸福村客户群", "后续提醒："]
    for line in ("· 12月3日 18:00 前一天提醒", "· 12月4日 07:30 开始前提醒", "· 12月4日 08:00 停电开始"):
        assert line in answer
    assert "提醒：计划停电应至少提前" not in answer and stored(groups).warning == ""


def test_the_group_rows_are_written_once_and_handed_to_delivery_with_the_reply(groups: Context) -> None:
    outcome = say(groups, PLANNED)
    [row] = notice_rows(groups)  # written by the core with its key; the router did not queue it again
    with groups.uow() as uow:
        group = uow.groups.find(GROUP.platform, GROUP.chat_id)
        assert group is not None and row.dedupe_key == f"notice:{row.notice_phase_id}:{group.id}"
        in_group = uow.session.exec(select(OutboxMessage).where(OutboxMessage.chat_id == GROUP.chat_id,
                                                                col(OutboxMessage.text).contains("停电通知"))).all()
    assert len(in_group) == 1
    ids = [item.outbox_id for item in outcome.queued]
    assert len(ids) == len(set(ids)) == 2 and row.id in ids  # the reply and the group's notice
    assert [item.action for item in outcome.queued] == outcome.actions


def test_a_planned_notice_three_days_ahead_is_accepted_with_the_seven_day_warning(groups: Context) -> None:
    outcome = say(groups, "/notice planned 幸福村台区 11-27 10:00 11-27 16:00 变压器增容")
    assert group_texts(outcome)[GROUP.chat_id]
    assert "提醒：计划停电应至少提前 7 天公告，本次只提前了 72 小时。通知已发出。" in reply(outcome)
    assert "72 小时" in stored(groups).warning


def test_a_temporary_notice_ten_hours_ahead_warns_and_reminds_half_an_hour_before(groups: Context) -> None:
    outcome = say(groups, "/notice temporary 幸福村台区 今天20:00 22:00 抢修更换跌落式熔断器")
    assert "临时停电应至少提前 24 小时公告，本次只提前了 10 小时" in reply(outcome)
    # The day before has passed: publication, 30 minutes before, the start.
    assert plan(groups) == [("published", "11-24 10:00", "sent"), ("soon", "11-24 19:30", "pending"),
                            ("start", "11-24 20:00", "pending")]
    assert "时间：11月24日 20:00 至 11月24日 22:00" in group_texts(outcome)[GROUP.chat_id][0]


def test_a_notice_for_several_areas_reaches_each_bound_group_once(groups: Context) -> None:
    bind(groups, THIRD, "幸福村台区")  # two groups in one area
    outcome = say(groups, "/notice planned 幸福村台区，光明村台区、幸福村台区 12-04 08:00 18:00 线路改造")
    assert sorted(group_texts(outcome)) == sorted([GROUP.chat_id, OTHER_GROUP.chat_id, THIRD.chat_id])
    assert all(len(texts) == 1 for texts in group_texts(outcome).values())
    assert stored(groups).areas == ["幸福村台区", "光明村台区"]
    assert "已发往 3 个群" in reply(outcome)


def test_lines_villages_and_a_one_word_time_range_are_read(groups: Context) -> None:
    outcome = say(groups, "/notice planned 幸福村台区 12月4日8:00-18:00 线路:10kV幸福线,10kV光明线 村:幸福村、李家庄 "
                          "更换导线 电话：0571-88886666")
    notice = stored(groups)
    assert (notice.lines, notice.villages) == (["10kV幸福线", "10kV光明线"], ["幸福村", "李家庄"])
    assert notice.reason == "更换导线"
    assert (local(notice.start_at), local(notice.end_at)) == ("12-04 08:00", "12-04 18:00")  # type: ignore[arg-type]
    [text] = group_texts(outcome)[GROUP.chat_id]
    assert "范围：幸福村台区、幸福村、李家庄" in text and "线路：10kV幸福线、10kV光明线" in text
    assert "联系电话：李经理 0571-88886666" in text


def test_an_overnight_end_given_as_a_bare_time_is_the_next_morning(groups: Context) -> None:
    say(groups, "/notice planned 幸福村台区 12-04 22:00 06:00 夜间不停电作业配合")
    notice = stored(groups)
    assert (local(notice.start_at), local(notice.end_at)) == ("12-04 22:00", "12-05 06:00")  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------ Shanghai times
def test_an_eight_oclock_start_reminds_at_six_the_evening_before_and_at_half_past_seven(groups: Context) -> None:
    say(groups, "/notice planned 幸福村台区 12月1日8:00 17:00 检修")
    due = {p.phase: p.due_at for p in phases(groups)}
    # 18:00 and 07:30 in Shanghai are 10:00 and 23:30 UTC, on either side of midnight in both zones.
    assert due["day_before"] == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    assert due["soon"] == datetime(2026, 11, 30, 23, 30, tzinfo=UTC)
    assert due["start"] == datetime(2026, 12, 1, 0, 0, tzinfo=UTC)


def test_a_start_just_after_midnight_reminds_before_midnight(groups: Context) -> None:
    say(groups, "/notice planned 幸福村台区 12-02 00:10 04:00 主变检修")
    assert [(name, due) for name, due, _ in plan(groups)[1:]] == [
        ("day_before", "12-01 18:00"), ("soon", "12-01 23:40"), ("start", "12-02 00:10")]


@pytest.mark.parametrize(("words", "expected"), [
    ("12-01 08:00", "2026-12-01 08:00"),
    ("12月1日8:00", "2026-12-01 08:00"),
    ("12月1日 8点半", "2026-12-01 08:30"),
    ("12月1号 下午2点", "2026-12-01 14:00"),
    ("2026-12-01T08:00", "2026-12-01 08:00"),
    ("2026-12-01T08:00:00+00:00", "2026-12-01 16:00"),
    ("明天8:00", "2026-11-25 08:00"),
    ("明天 8:00", "2026-11-25 08:00"),
    ("今天14:00", "2026-11-24 14:00"),
    ("14：30", "2026-11-24 14:30"),
    ("1-05 08:00", "2027-01-05 08:00"),  # a month-day without a year is the next such date
    ("11-24 09:00", "2026-11-24 09:00"),  # today is still this year (the start has passed: refused later)
    ("现在", "2026-11-24 10:00"),
])
def test_times_are_read_as_a_manager_types_them(clock: FakeClock, words: str, expected: str) -> None:
    when = read_when(words.split(), 0, clock(), SH, clock().astimezone(SH).date())
    assert when is not None and f"{when.at.astimezone(SH):%Y-%m-%d %H:%M}" == expected
    assert when.used == len(words.split())


@pytest.mark.parametrize("words", ["13-45 08:00", "12-01", "12-01 检修", "25:00", "2-30 08:00", "2026-13-01T08:00"])
def test_a_time_that_cannot_be_is_refused_by_name(clock: FakeClock, words: str) -> None:
    with pytest.raises(BadTime):
        read_when(words.split(), 0, clock(), SH, clock().astimezone(SH).date())


def test_a_reason_is_not_mistaken_for_a_time(clock: FakeClock) -> None:
    for words in ("10kV线路检修", "检修", "10.5kV线路"):
        assert read_when([words], 0, clock(), SH, clock().astimezone(SH).date()) is None
    assert split_names("幸福村台区, 光明村台区，、李家台区,幸福村台区") == ["幸福村台区", "光明村台区", "李家台区"]


# ------------------------------------------------------------------------------------------------ firing
def test_the_day_before_reminder_fires_once_at_its_time_to_the_same_groups(groups: Context, clock: FakeClock) -> None:
    say(groups, PLANNED)
    day_before = phase_id(groups, "day_before")
    assert next(p.id for p in core.pending_phases(groups)) == day_before
    clock.now = datetime(2026, 12, 3, 18, 0, tzinfo=SH)
    fired = core.fire(groups, day_before)
    [text] = texts_to(fired.actions, GROUP)
    assert text.startswith("【明日停电提醒】") and "时间：12月4日 08:00 至 12月4日 18:00" in text
    assert "延后" not in text  # on time
    assert set(group_texts(fired)) == {GROUP.chat_id}
    assert [q.outbox_id for q in fired.queued] == [r.id for r in notice_rows(groups) if r.notice_phase_id == day_before]

    assert core.fire(groups, day_before).actions == []  # fired already
    # Two instances (or a crash between the rows and the phase): the phase is pending again, the keys hold.
    with groups.uow() as uow:
        phase = uow.notices.phase(day_before)
        assert phase is not None
        phase.status = "pending"
        uow.notices.save_phase(phase)
        uow.commit()
    assert core.fire(groups, day_before).actions == []
    assert len([r for r in notice_rows(groups) if r.notice_phase_id == day_before]) == 1


def test_the_soon_and_start_phases_say_so(groups: Context, clock: FakeClock) -> None:
    say(groups, PLANNED)
    clock.now = datetime(2026, 12, 4, 7, 40, tzinfo=SH)  # ten minutes late: still useful, and says it is late
    [soon] = texts_to(core.fire(groups, phase_id(groups, "soon")).actions, GROUP)
    assert soon.startswith("【停电提醒】30分钟后开始停电") and "（本条原定 12月4日 07:30 发送，因系统维护延后）" in soon
    clock.now = datetime(2026, 12, 4, 8, 0, tzinfo=SH)
    [start] = texts_to(core.fire(groups, phase_id(groups, "start")).actions, GROUP)
    assert start.startswith("【停电开始】")


def test_a_reminder_missed_until_the_outage_began_is_skipped_with_a_record(groups: Context, clock: FakeClock) -> None:
    say(groups, PLANNED)
    day_before = phase_id(groups, "day_before")
    clock.now = datetime(2026, 12, 4, 9, 0, tzinfo=SH)  # the service was down until after the start
    assert core.fire(groups, day_before).actions == []
    [skipped] = [p for p in phases(groups) if p.id == day_before]
    assert (skipped.status, skipped.note) == ("skipped", "服务停机期间错过，发送时已无意义，未补发")
    assert not [r for r in notice_rows(groups) if r.notice_phase_id == day_before]
    assert "前一天提醒：12月4日 09:00 未发送：服务停机期间错过" in reply(say(groups, "/notice 1"))


# ------------------------------------------------------------------------------------ change, cancel, restore
def test_a_change_moves_the_reminders_and_reaches_every_group_that_heard(groups: Context, clock: FakeClock) -> None:
    say(groups, PLANNED)
    old = {p.phase: p.id or 0 for p in phases(groups) if p.status == "pending"}
    bind(groups, GROUP, "光明村台区")  # the group that heard now belongs to another area
    bind(groups, THIRD, "幸福村台区")  # and a group joined the notice's area since
    clock.advance(hours=1)
    outcome = say(groups, "/notice change 1 12-06 08:00 施工队伍调整")
    assert sorted(group_texts(outcome)) == sorted([GROUP.chat_id, THIRD.chat_id])
    [text] = group_texts(outcome)[GROUP.chat_id]
    assert text.startswith("【停电通知变更】请以本条为准：") and "说明：施工队伍调整" in text
    assert "时间：12月6日 08:00 至 12月6日 18:00" in text  # END left out: the same ten hours

    by_id = {p.id: p for p in phases(groups)}
    assert {by_id[i].status for i in old.values()} == {"dropped"}
    assert {by_id[i].note for i in old.values()} == {"通知已变更"}
    assert [(n, d) for n, d, s in plan(groups) if s == "pending"] == [
        ("day_before", "12-05 18:00"), ("soon", "12-06 07:30"), ("start", "12-06 08:00")]
    notice = stored(groups)
    assert notice.version == 2 and local(notice.start_at) == "12-06 08:00"  # type: ignore[arg-type]
    answer = reply(outcome)
    assert "通知 1 已变更，变更通知已发往 2 个群。" in answer and "· 12月5日 18:00 前一天提醒" in answer

    clock.now = datetime(2026, 12, 3, 18, 0, tzinfo=SH)  # the old reminder's time: dropped, nothing is sent
    assert core.fire(groups, old["day_before"]).actions == []
    clock.now = datetime(2026, 12, 5, 18, 0, tzinfo=SH)
    fired = core.fire(groups, phase_id(groups, "day_before"))
    assert sorted(group_texts(fired)) == [THIRD.chat_id]  # reminders go to the area's groups of today


def test_a_change_with_a_new_end_and_bad_changes(groups: Context) -> None:
    say(groups, PLANNED)
    say(groups, "/notice change 1 12-04 09:00 12-04 20:00 延长工期")
    notice = stored(groups)
    assert (local(notice.start_at), local(notice.end_at)) == ("12-04 09:00", "12-04 20:00")  # type: ignore[arg-type]
    assert reply(say(groups, "/notice change 1 12-04 09:00 08:00 原因")).startswith("通知 1 已变更")  # overnight
    assert reply(say(groups, "/notice change 1 12-05 09:00 12-05 08:00 原因")) == "结束时间应晚于开始时间。"
    assert reply(say(groups, "/notice change 1 12-05 09:00")).startswith("用法：/notice")  # why is missing
    assert reply(say(groups, "/notice change 1 检修")) == "请写明开始时间，例如 12-01 08:00。"
    assert reply(say(groups, "/notice change 7 12-05 09:00 原因")) == "没有找到通知 7。"
    assert stored(groups).version == 3


def test_an_outage_under_way_is_extended_without_a_second_start_message(groups: Context, clock: FakeClock) -> None:
    say(groups, PLANNED)
    clock.now = datetime(2026, 12, 4, 8, 0, tzinfo=SH)
    assert texts_to(core.fire(groups, phase_id(groups, "start")).actions, GROUP)
    clock.now = datetime(2026, 12, 4, 15, 0, tzinfo=SH)  # 延时送电: the same start, a later end
    outcome = say(groups, "/notice change 1 12-04 08:00 20:00 工作量增加，延时送电")
    [text] = group_texts(outcome)[GROUP.chat_id]
    assert text.startswith("【停电通知变更】") and "时间：12月4日 08:00 至 12月4日 20:00" in text
    assert core.pending_phases(groups) == []  # the outage has begun: no reminder, no second 【停电开始】
    assert reply(outcome) == "通知 1 已变更，变更通知已发往 1 个群。\n群：幸福村客户群"
    # A new start in the past is still refused.
    moved_back = reply(say(groups, "/notice change 1 12-04 09:00 20:00 改"))
    assert moved_back == "开始时间已过；已经停电请用 fault（故障停电）。"


def test_cancel_drops_the_pending_phases_and_reaches_the_same_groups(groups: Context) -> None:
    say(groups, PLANNED)
    outcome = say(groups, "/notice cancel 1 天气原因，另行通知")
    assert set(group_texts(outcome)) == {GROUP.chat_id}
    [text] = group_texts(outcome)[GROUP.chat_id]
    assert text.startswith("【停电取消】原定停电取消，正常供电。") and "说明：天气原因，另行通知" in text
    assert reply(outcome) == "通知 1 已取消，取消通知已发往 1 个群。\n群：幸福村客户群"
    assert stored(groups).status == "cancelled"
    assert {p.status for p in phases(groups) if p.phase in ("day_before", "soon", "start")} == {"dropped"}
    assert core.pending_phases(groups) == []
    assert reply(say(groups, "/notice cancel 1 再取消一次")) == "通知 1 当前为「已取消」，不能再修改。"
    assert reply(say(groups, "/notice change 1 12-06 08:00 改期")) == "通知 1 当前为「已取消」，不能再修改。"


def test_a_fault_is_published_at_once_and_restored(groups: Context, clock: FakeClock) -> None:
    outcome = say(groups, "/notice fault 幸福村台区 now 10kV幸福线故障，正在抢修")
    [text] = group_texts(outcome)[GROUP.chat_id]
    assert "类型：故障停电" in text and "时间：11月24日 10:00 至 恢复供电为止" in text
    assert plan(groups) == [("published", "11-24 10:00", "sent")]  # no reminders for a fault
    assert "提醒" not in reply(outcome)

    clock.advance(hours=2)
    restored = say(groups, "/notice restore 1 线路已修复")
    [back] = group_texts(restored)[GROUP.chat_id]
    assert back.startswith("【恢复供电】已恢复供电") and "说明：线路已修复" in back
    assert reply(restored).startswith("通知 1：恢复供电通知已发往 1 个群。")
    notice = stored(groups)
    assert notice.status == "finished" and notice.restored_at == clock.now
    assert reply(say(groups, "/notice restore 1")) == "通知 1 当前为「已结束」，不能再修改。"


def test_a_fault_may_leave_the_start_out_and_a_planned_outage_restored_early_stops_its_reminders(
        groups: Context) -> None:
    say(groups, "/notice 故障 光明村台区 变压器烧损抢修中")
    assert local(stored(groups).start_at) == "11-24 10:00"  # type: ignore[arg-type]
    say(groups, PLANNED)
    say(groups, "/notice restore 2")
    assert {p.status for p in phases(groups, 2) if p.phase != "published" and p.phase != "restored"} == {"dropped"}


# ------------------------------------------------------------------------------------------------ announcements
def test_an_announcement_to_every_group_and_one_to_an_area(groups: Context) -> None:
    everyone = say(groups, "/notice announcement all 本周六营业厅照常办公\n办理时间 9:00-17:00")
    assert sorted(group_texts(everyone)) == sorted([GROUP.chat_id, OTHER_GROUP.chat_id, THIRD.chat_id])
    assert group_texts(everyone)[THIRD.chat_id] == [
        "【公告】\n本周六营业厅照常办公\n办理时间 9:00-17:00\n联系电话：李经理\n通知编号 1"]
    area = say(groups, "/notice 公告 光明村台区 12月起电费可在网上国网缴纳")
    assert set(group_texts(area)) == {OTHER_GROUP.chat_id}
    withdrawn = say(groups, "/notice cancel 2 内容有误")
    assert group_texts(withdrawn)[OTHER_GROUP.chat_id][0].startswith("【公告撤回】")
    assert reply(say(groups, "/notice restore 1")) == "通知 1 是公告，没有恢复供电一说。"


# ------------------------------------------------------------------------------------------------ the report
def test_the_delivery_report_counts_sent_pending_and_failed_and_says_why(groups: Context) -> None:
    bind(groups, THIRD, "幸福村台区")
    say(groups, PLANNED)
    rows = {row.chat_id: row for row in notice_rows(groups)}
    with groups.uow() as uow:
        uow.outbox.mark_sent(rows[GROUP.chat_id].id or 0, groups.clock())
        uow.outbox.mark_failed(rows[THIRD.chat_id].id or 0, groups.clock(), "Forbidden: bot was kicked")
        uow.commit()
        [published, *later] = core.delivery_report(uow, 1)
    assert (published.sent, published.pending) == (1, 0)
    assert published.failed == [("阳光小区客户群", "Forbidden: bot was kicked")]
    assert [(r.phase.phase, r.sent, r.pending, r.failed) for r in later] == [
        ("day_before", 0, 0, []), ("soon", 0, 0, []), ("start", 0, 0, [])]

    shown = reply(say(groups, "/notice 1"))
    assert shown.startswith("通知 1【计划停电】进行中，第 1 版\n范围：幸福村台区")
    for line in ("联系电话：李经理 13812345678", "发布：11月24日 10:00 李经理", "发送情况：",
                 "· 发布：11月24日 10:00 已发 2 个群：送达 1，待发 0，失败 1",
                 "  失败：阳光小区客户群：Forbidden: bot was kicked",
                 "· 前一天提醒：计划 12月3日 18:00 发送", "· 停电开始：计划 12月4日 08:00 发送"):
        assert line in shown.splitlines(), line


def test_notices_lists_the_active_ones(groups: Context) -> None:
    assert reply(say(groups, "/notices")) == "没有进行中的通知。"
    say(groups, PLANNED)
    say(groups, "/notice fault 光明村台区 now 故障抢修")
    say(groups, "/notice cancel 2 误报")
    assert reply(say(groups, "/notices")) == (
        "进行中的通知 1 条：\n通知 1【计划停电】进行中 幸福村台区 12月4日 08:00 – 12月4日 18:00")
    everything = reply(say(groups, "/notices all"))
    assert everything.startswith("最近的通知 2 条：\n通知 2【故障停电】已取消 光明村台区 11月24日 10:00 – 恢复供电为止")
    assert reply(say(groups, "/notices foo")) == "用法：/notices [all]"


# ------------------------------------------------------------------------------------------------ bad input
def test_an_area_no_group_is_bound_to_is_published_with_a_warning(groups: Context) -> None:
    nobody = say(groups, "/notice planned 李家台区 12-04 08:00 18:00 检修")
    assert group_texts(nobody) == {}
    assert "注意：没有群绑定到这些台区，通知暂未发出。请先在群里用 /bind 绑定台区。" in reply(nobody)
    assert "已发往 0 个群" in reply(nobody)
    typo = say(groups, "/notice planned 幸福村台区,幸福台区 12-04 08:00 18:00 检修")
    assert set(group_texts(typo)) == {GROUP.chat_id}
    assert "注意：台区「幸福台区」没有绑定的群，这些台区的客户收不到通知。" in reply(typo)


def unreadable(field: str, value: str) -> str:
    return f"{field}「{value}」看不懂，请写成 12-01 08:00、12月1日8:00、明天8:00 或 2026-12-01T08:00。"


@pytest.mark.parametrize(("command", "answer"), [
    ("/notice planned 幸福村台区 12-04 08:00 12-03 18:00 检修", "结束时间应晚于开始时间。"),
    ("/notice planned 幸福村台区 今天08:00 12:00 检修", "开始时间已过；已经停电请用 fault（故障停电）。"),
    ("/notice temporary 幸福村台区 now 检修", "开始时间已过；已经停电请用 fault（故障停电）。"),
    ("/notice blackout 幸福村台区 12-04 08:00 检修", "通知类型应为 planned | temporary | fault | announcement。"),
    ("/notice announcement all", "公告内容不能为空。"),
    ("/notice announcement all 电话:95598", "公告内容不能为空。"),
    ("/notice planned 幸福村台区 12-04 08:00 18:00", "请写明停电原因。"),
    ("/notice planned 幸福村台区 检修", "请写明开始时间，例如 12-01 08:00。"),
    ("/notice planned 幸福村台区", "请写明开始时间，例如 12-01 08:00。"),
    ("/notice planned 幸福村台区 13-45 08:00 检修", unreadable("开始时间", "13-45")),
    ("/notice planned 幸福村台区 12-04 检修", unreadable("开始时间", "12-04")),
    ("/notice planned 幸福村台区 12-04 08:00 25:00 检修", unreadable("结束时间", "25:00")),
    ("/notice 99", "没有找到通知 99。"),
])
def test_bad_notices_are_refused_with_the_reason_and_store_nothing(groups: Context, command: str, answer: str) -> None:
    outcome = say(groups, command)
    assert reply(outcome) == answer
    assert group_texts(outcome) == {}
    with groups.uow() as uow:
        assert list(uow.notices.list()) == []


@pytest.mark.parametrize("command", ["/notice", "/notice cancel 1", "/notice cancel", "/notice restore",
                                     "/notice 1 2", "/notice change 1", "/notice cancel abc 原因"])
def test_malformed_notice_commands_answer_with_the_usage(groups: Context, command: str) -> None:
    assert reply(say(groups, command)).startswith("用法：/notice planned|temporary|fault 台区[,台区] 开始 [结束] 原因")


def test_customers_cannot_publish_and_a_redelivered_command_publishes_once(groups: Context) -> None:
    refused = say(groups, "/notice planned 幸福村台区 12-04 08:00 18:00 检修", user="501", private=False)
    assert texts_to(refused.actions, GROUP) == ["抱歉，/notice 仅限工作人员使用。"]
    first = say(groups, PLANNED, message_id="n1")
    again = say(groups, PLANNED, message_id="n1")
    assert group_texts(first) and again.actions == [] and again.duplicate
    assert len(notice_rows(groups)) == 1


def test_a_notice_given_in_a_group_answers_there(groups: Context) -> None:
    outcome = say(groups, PLANNED, private=False, chat=OTHER_GROUP)
    answers = texts_to(outcome.actions, OTHER_GROUP)
    assert answers == [next(a for a in answers if a.startswith("通知 1（计划停电）已发布"))]
    assert set(group_texts(outcome)) == {GROUP.chat_id, OTHER_GROUP.chat_id}  # the reply, and the notice
    assert texts_to(outcome.actions, GROUP)[0].startswith("【停电通知】")


def test_phases_are_planned_in_the_stations_zone_even_for_a_utc_iso_time(groups: Context) -> None:
    say(groups, "/notice planned 幸福村台区 2026-12-04T00:00:00+00:00 2026-12-04T10:00:00+00:00 检修")
    assert [d for _, d, _ in plan(groups)] == ["11-24 10:00", "12-03 18:00", "12-04 07:30", "12-04 08:00"]
    assert stored(groups).end_at == datetime(2026, 12, 4, 10, tzinfo=UTC)
    assert timedelta(hours=10) == stored(groups).end_at - stored(groups).start_at  # type: ignore[operator]


def test_tags_are_set_and_removed_in_the_group_and_explained_when_wrong(groups: Context) -> None:
    def tag(args: str, chat: ChatRef = THIRD, private: bool = False) -> str:
        outcome = say(groups, f"/tag {args}".strip(), private=private, chat=chat)
        return "\n".join(texts_to(outcome.actions, MANAGER if private else chat))

    assert tag("") == "本群还没有标签。用 /tag 小区 添加。"
    assert tag("小区 #商户 小区").startswith("本群标签：#小区、#商户。")
    assert tag("-商户").startswith("本群标签：#小区。")
    assert tag("-").startswith("用法：/tag")
    assert tag("小区", private=True).startswith("找不到名为「小区」的群")
    assert "有多个群叫" in tag("阳光小区客户群 商户", private=True)  # two groups share that title
    assert tag("-1003 商户", private=True).startswith("本群标签：#小区、#商户。")  # named by id from a private chat
    assert tag("-商户").startswith("本群标签：#小区。")
    assert "最多 10 个标签" in tag(" ".join(f"t{n}" for n in range(10)))
    with groups.uow() as uow:
        group = uow.groups.find(THIRD.platform, THIRD.chat_id)
        assert group is not None and group.tags == ["小区"]  # the refused change left the tags alone
    customer = handle(message("/tag 小区", chat=THIRD, user="501"), groups)
    assert texts_to(customer.actions, THIRD) == ["抱歉，/tag 仅限工作人员使用。"]


def test_an_announcement_reaches_groups_by_tag_by_station_or_both_with_areas(groups: Context) -> None:
    say(groups, "/tag 小区", private=False, chat=THIRD)
    say(groups, "/tag 小区", private=False, chat=OTHER_GROUP)
    assert set(group_texts(say(groups, "/notice 公告 #小区 明天上午小区配电房检修，电梯暂停"))) == {
        THIRD.chat_id, OTHER_GROUP.chat_id}
    station_wide = say(groups, f"/notice announcement 站:{groups.station_name} 营业厅搬迁到新址")
    assert set(group_texts(station_wide)) == {GROUP.chat_id, OTHER_GROUP.chat_id}  # THIRD is bound to no area
    mixed = say(groups, "/notice announcement 幸福村台区，#小区 周末可在网上国网缴费")
    assert set(group_texts(mixed)) == {GROUP.chat_id, OTHER_GROUP.chat_id, THIRD.chat_id}
    assert "\n范围：幸福村台区、#小区\n" in reply(say(groups, "/notice 3"))
    assert reply(say(groups, "/notice announcement 站:不存在供电所 内容")) == "没有名为「不存在供电所」的供电所。"
    assert "请写明公告发给哪些群" in reply(say(groups, "/notice announcement # 内容"))


def test_an_area_subscriber_hears_a_station_wide_announcement_once(groups: Context) -> None:
    say(groups, "/subscribe 幸福村台区", user="700")
    say(groups, "/subscribe 光明村台区", user="700")
    outcome = say(groups, f"/notice announcement 站:{groups.station_name},#小区 春节期间营业时间调整")
    assert len(texts_to(outcome.actions, ChatRef("telegram", "700"))) == 1
