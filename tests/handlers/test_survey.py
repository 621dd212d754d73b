"""The satisfaction survey (回访) as customers and managers meet it: asked on /resolve, a score and an
explicit confirmation, 3–5 close the ticket, 1–2 reopen it and ask why, nobody answering closes it as
"no rating". Presses are ButtonPress events into the core, on SQLite and PostgreSQL, with a fake clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, select

from handlers.context import Context
from handlers.router import button_pressed, handle
from handlers.survey import REASONS, SCORES, expire
from handlers.types import Button, ButtonPress, ChatRef, Outcome, Send, UserRef
from storage.models import OutboxMessage, Staff, Survey, Ticket, TicketClock, TicketEvent
from tests.conftest import FakeClock
from tests.handlers.helpers import GROUP, add_manager, message, texts_to

MANAGER_CHAT = ChatRef("telegram", "900")
CUSTOMER = UserRef("telegram", "501", "王大爷")
NEIGHBOUR = UserRef("telegram", "502", "张阿姨")
CUSTOMER_ACTOR = "customer:telegram:501"
ASKED_BY_SURVEY = {"rate:1:5", "rate:1:4", "rate:1:3", "rate:1:2", "rate:1:1"}


# --- helpers --------------------------------------------------------------------------------------------------

def open_ticket(ctx: Context, text: str = "我家停电了") -> Staff:
    """Manager 900 binds the group; customer 501 raises ticket 1 with message m1. Returns the manager."""
    manager = add_manager(ctx)
    handle(message("/bind 幸福村台区 rural", user="900", name="李经理"), ctx)
    opened = handle(message(text, message_id="m1"), ctx)
    assert opened.ticket_number == "1", opened
    return manager


def staff_says(ctx: Context, text: str, user: str = "900", name: str = "李经理") -> Outcome:
    return handle(message(text, user=user, name=name, private=True), ctx)


def resolve(ctx: Context, note: str = "已修好") -> Outcome:
    return staff_says(ctx, f"/resolve 1 {note}")


def press(ctx: Context, data: str, user: UserRef = CUSTOMER) -> Outcome:
    return button_pressed(ButtonPress(GROUP, user, data, "777"), ctx)


def rate(ctx: Context, score: int) -> Outcome:
    """Choose a score, then confirm it: the customer's two presses."""
    chosen = press(ctx, f"rate:1:{score}")
    assert chosen.notice == ctx.texts("survey.chosen", score=score)
    return press(ctx, f"rate:1:{score}:ok")


def surveys_with_buttons(outcome: Outcome) -> list[Send]:
    return [a for a in outcome.actions if isinstance(a, Send) and a.buttons
            and all(b.data.startswith("rate:") for row in a.buttons for b in row)]


def ticket(ctx: Context, number: int = 1) -> Ticket:
    with ctx.uow() as uow:
        found = uow.tickets.get(number)
    assert found is not None
    return found


def survey(ctx: Context, number: int = 1) -> Survey:
    with ctx.uow() as uow:
        found = uow.surveys.latest(number)
    assert found is not None
    return found


def rounds(ctx: Context, number: int = 1) -> list[Survey]:
    with ctx.uow() as uow:
        return list(uow.session.exec(select(Survey).where(Survey.ticket_id == number).order_by(col(Survey.round))))


def events(ctx: Context, number: int = 1) -> list[TicketEvent]:
    with ctx.uow() as uow:
        return list(uow.tickets.events(number))


def clocks(ctx: Context, number: int = 1) -> list[TicketClock]:
    with ctx.uow() as uow:
        return list(uow.tickets.clocks(number))


def outbox_size(ctx: Context) -> int:
    with ctx.uow() as uow:
        return len(uow.session.exec(select(OutboxMessage)).all())


def snapshot(ctx: Context) -> tuple[object, ...]:
    """Everything a refused press must leave alone."""
    found, asked = ticket(ctx), survey(ctx)
    return (found.status, found.closed_at, found.assignee_id, asked.status, asked.score, asked.answered_at,
            asked.staff_id, len(events(ctx)), outbox_size(ctx))


# --- asking ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("appeal", "kind"), [("我家停电了", "repair"), ("电费怎么交", "inquiry")])
def test_resolving_asks_one_survey_in_the_customers_group_quoting_the_appeal(
        ctx: Context, appeal: str, kind: str) -> None:
    open_ticket(ctx, appeal)
    assert ticket(ctx).kind == kind
    outcome = resolve(ctx)
    [asked] = surveys_with_buttons(outcome)
    assert asked.chat == GROUP
    assert asked.reply_to_message_id == "m1"
    assert asked.text == ctx.texts("survey.ask", name="王大爷", number=1)
    # Five big buttons, one per row, best score first.
    assert asked.buttons == tuple((Button(ctx.texts(f"survey.score_{s}"), f"rate:1:{s}"),) for s in (5, 4, 3, 2, 1))
    assert [row[0].text for row in asked.buttons] == ["5分 非常满意", "4分 满意", "3分 一般", "2分 不满意",
                                                      "1分 很不满意"]
    # Nothing else the resolution sends carries buttons; the customer also hears the resolution itself.
    assert sum(1 for a in outcome.actions if isinstance(a, Send) and a.buttons) == 1
    assert "已办结：已修好" in texts_to(outcome.actions, GROUP)[0]
    assert texts_to(outcome.actions, MANAGER_CHAT) == ["工单 1 已办结。"]
    # The survey is stored with the question, and the question is in the outbox (it survives a crash).
    asked_row = survey(ctx)
    assert (asked_row.round, asked_row.status, asked_row.score) == (1, "asked", None)
    assert (asked_row.platform, asked_row.chat_id, asked_row.customer_user_id) == ("telegram", "-1001", "501")
    assert asked_row.asked_at == ctx.clock()
    assert asked_row.staff_id is None  # not frozen before the rating lands
    with ctx.uow() as uow:
        stored = [row for row in uow.session.exec(select(OutboxMessage)) if row.buttons]
    assert [[b["data"] for [b] in row.buttons] for row in stored] == [[f"rate:1:{s}" for s in SCORES]]


# --- who may press, and what ----------------------------------------------------------------------------------

def test_only_the_customer_who_raised_the_ticket_can_answer(ctx: Context) -> None:
    open_ticket(ctx)
    resolve(ctx)
    before = snapshot(ctx)
    for data in ("rate:1:5", "rate:1:1", "rate:1:5:ok", "rate:1:1:ok"):
        refused = press(ctx, data, user=NEIGHBOUR)
        assert refused.actions == [] and refused.notice == ctx.texts("survey.not_yours"), data
        assert refused.notice == "只有提出该工单的客户才能评价。"
    manager = press(ctx, "rate:1:5:ok", user=UserRef("telegram", "900", "李经理"))
    assert manager.notice == ctx.texts("survey.not_yours")  # not even the manager rates himself
    same_id_elsewhere = press(ctx, "rate:1:5:ok", user=UserRef("wecom", "501", "王大爷"))
    assert same_id_elsewhere.notice == ctx.texts("survey.not_yours")
    assert snapshot(ctx) == before


FORGED = (
    "rate:999:5", "rate:999:5:ok", "rate:1:9", "rate:1:0", "rate:1:9:ok", "rate:1:5:no", "rate:1:55", "rate:-1:5",
    "rate:1:5 ", "rate:1", "rate:", "rate:abc:5", "rate:1:5:ok:ok", "why:1:bogus", "why:999:slow", "why:1",
    "rate:1:5;DROP TABLE ticket", "rate:99999999999999999999:5", "RATE:1:5", "", "xyz",
)


def test_forged_presses_are_refused_and_change_nothing(ctx: Context) -> None:
    open_ticket(ctx)
    resolve(ctx)
    before = snapshot(ctx)
    for data in FORGED:
        refused = press(ctx, data)
        assert refused.actions == [] and refused.notice == ctx.texts("button.refused"), data
    assert snapshot(ctx) == before


def test_a_press_on_a_ticket_that_was_never_surveyed_is_refused(ctx: Context) -> None:
    open_ticket(ctx)  # open, not resolved: no survey yet
    refused = press(ctx, "rate:1:5:ok")
    assert refused.actions == [] and refused.notice == ctx.texts("button.refused")
    assert ticket(ctx).status == "new"


def test_a_reason_before_any_rating_is_refused(ctx: Context) -> None:
    open_ticket(ctx)
    resolve(ctx)
    before = snapshot(ctx)
    refused = press(ctx, "why:1:slow")
    assert refused.actions == [] and refused.notice == ctx.texts("survey.already")
    assert snapshot(ctx) == before


# --- a score, then its confirmation ---------------------------------------------------------------------------

def test_the_first_press_only_proposes_the_score(ctx: Context) -> None:
    open_ticket(ctx)
    resolve(ctx)
    before, queued = snapshot(ctx)[:-1], outbox_size(ctx)
    for score, grade in ((5, "满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "不满意")):
        chosen = press(ctx, f"rate:1:{score}")
        [question] = chosen.actions
        assert isinstance(question, Send) and question.chat == GROUP
        assert question.text == f"您选择了 {score} 分（{grade}），请点下面的按钮确认提交。"
        assert question.buttons == ((Button(f"确认提交 {score} 分", f"rate:1:{score}:ok"),),)
        assert chosen.notice == f"已选 {score} 分，请确认提交"
    # Only the five confirmation questions were queued: the ticket and the survey are as they were.
    assert snapshot(ctx)[:-1] == before and outbox_size(ctx) == queued + 5
    assert ticket(ctx).status == "resolved" and survey(ctx).status == "asked"


def test_confirming_four_closes_the_ticket_and_freezes_the_manager_and_station(
        ctx: Context, clock: FakeClock) -> None:
    manager = open_ticket(ctx)
    resolve(ctx)
    press(ctx, "rate:1:4")
    assert ticket(ctx).status == "resolved" and survey(ctx).status == "asked"
    clock.advance(minutes=3)
    confirmed = press(ctx, "rate:1:4:ok")
    assert confirmed.notice == "已提交，谢谢！"
    assert texts_to(confirmed.actions, GROUP) == ["感谢您的评价（4 分），祝您用电愉快！"]
    assert not any(isinstance(a, Send) and a.buttons for a in confirmed.actions)
    closed = ticket(ctx)
    assert closed.status == "closed" and closed.closed_at == clock.now
    rated = survey(ctx)
    assert (rated.status, rated.score, rated.answered_at, rated.round) == ("rated", 4, clock.now, 1)
    assert rated.staff_id == manager.id == closed.assignee_id
    assert rated.station_id is not None and rated.station_id == closed.station_id
    rating, closing = events(ctx)[-2:]  # the rating is its own event, before the move it causes
    assert (rating.action, rating.actor, rating.note, rating.at) == ("rated", CUSTOMER_ACTOR, "4", clock.now)
    assert rating.data == {"rating": 4, "round": 1}
    assert (closing.action, closing.actor) == ("closed", CUSTOMER_ACTOR)
    assert closing.data == {"from": "resolved", "to": "closed", "rating": 4, "round": 1}

    # Once rated, every further press is refused with "already", and changes nothing.
    before = snapshot(ctx)
    for data in ("rate:1:4:ok", "rate:1:4", "rate:1:1", "rate:1:1:ok", "why:1:slow"):
        again = press(ctx, data)
        assert again.actions == [] and again.notice == "这次评价已经提交过了，谢谢！", data
    assert snapshot(ctx) == before


def test_three_is_fair_and_also_closes_the_ticket(ctx: Context) -> None:
    open_ticket(ctx)
    resolve(ctx)
    outcome = rate(ctx, 3)
    assert texts_to(outcome.actions, GROUP) == [ctx.texts("survey.thanks", score=3)]
    assert ticket(ctx).status == "closed"
    assert (survey(ctx).status, survey(ctx).score) == ("rated", 3)


def test_changing_ones_mind_before_confirming_counts_only_the_confirmed_score(ctx: Context) -> None:
    open_ticket(ctx)
    resolve(ctx)
    press(ctx, "rate:1:1")
    press(ctx, "rate:1:5")
    assert ticket(ctx).status == "resolved"
    press(ctx, "rate:1:5:ok")
    assert (survey(ctx).score, ticket(ctx).status) == (5, "closed")
    assert press(ctx, "rate:1:1:ok").notice == ctx.texts("survey.already")  # the first proposal is stale
    assert (survey(ctx).score, ticket(ctx).status) == (5, "closed")


def test_the_rated_manager_is_the_assignee_at_rating_time_and_stays_frozen(ctx: Context) -> None:
    li = open_ticket(ctx)
    zhao = add_manager(ctx, user_id="901", name="赵经理")
    assigned = staff_says(ctx, "/assign 1 901")
    assert "已转派给赵经理" in texts_to(assigned.actions, MANAGER_CHAT)[0]
    resolve(ctx)
    assert survey(ctx).staff_id is None
    rate(ctx, 5)
    rated = survey(ctx)
    assert rated.staff_id == zhao.id != li.id
    station = rated.station_id
    assert station is not None

    with ctx.uow() as uow:  # the ticket changes hands afterwards (a data fix, a transfer)
        moved = uow.tickets.get(1)
        assert moved is not None
        moved.assignee_id = li.id
        uow.tickets.save(moved)
        uow.commit()
    assert ticket(ctx).assignee_id == li.id
    assert (survey(ctx).staff_id, survey(ctx).station_id) == (zhao.id, station)


# --- dissatisfied: reopen and ask why -------------------------------------------------------------------------

@pytest.mark.parametrize("score", [2, 1])
def test_a_low_score_reopens_the_ticket_to_the_same_manager_and_asks_why(
        ctx: Context, clock: FakeClock, score: int) -> None:
    manager = open_ticket(ctx)
    resolve(ctx)
    clock.advance(hours=1)
    confirmed = rate(ctx, score)
    assert confirmed.notice == ctx.texts("survey.thanks_short")

    reopened = ticket(ctx)
    assert reopened.status == "reopened" and reopened.assignee_id == manager.id
    assert reopened.resolved_at is None and reopened.closed_at is None
    [fresh] = [c for c in clocks(ctx) if c.name == "reopen"]
    assert fresh.met_at is None and fresh.started_at == clock.now and fresh.due_at > clock.now
    assert reopened.due_at == fresh.due_at

    assert texts_to(confirmed.actions, MANAGER_CHAT) == [
        f"【不满意】工单 1 客户王大爷评价 {score} 分，已重新打开，请尽快联系客户。\n我家停电了"]
    [question] = [a for a in confirmed.actions if isinstance(a, Send) and a.chat == GROUP]
    assert question.text == "很抱歉没让您满意，工单 1 已重新交给客户经理处理。请告诉我们哪里不满意："
    assert question.buttons == tuple((Button(ctx.texts(f"survey.reason_{code}"), f"why:1:{code}"),)
                                     for code in ("not_fixed", "slow", "attitude", "other"))

    awaiting = survey(ctx)
    assert (awaiting.status, awaiting.score, awaiting.staff_id) == ("awaiting_reason", score, manager.id)
    rating, reopening = events(ctx)[-2:]
    assert (rating.action, rating.actor, rating.note) == ("rated", CUSTOMER_ACTOR, str(score))
    assert rating.data == {"rating": score, "round": 1}
    assert (reopening.action, reopening.actor) == ("reopened", CUSTOMER_ACTOR)
    assert reopening.note == f"客户评价 {score} 分（不满意）"
    assert reopening.data == {"from": "resolved", "to": "reopened", "rating": score, "round": 1}
    assert press(ctx, f"rate:1:{score}:ok").notice == ctx.texts("survey.already")
    assert ticket(ctx).status == "reopened"


def test_the_reason_is_recorded_the_manager_told_and_the_customers_next_words_join_the_ticket(
        ctx: Context, clock: FakeClock) -> None:
    open_ticket(ctx)
    resolve(ctx)
    rate(ctx, 2)
    assert press(ctx, "why:1:slow", user=NEIGHBOUR).notice == ctx.texts("survey.not_yours")
    clock.advance(minutes=2)
    why = press(ctx, "why:1:slow")
    assert why.notice == ctx.texts("survey.thanks_short")
    assert texts_to(why.actions, GROUP) == ["收到，我们会尽快改进，客户经理会再联系您。"]
    assert texts_to(why.actions, MANAGER_CHAT) == ["工单 1 客户不满意的原因：处理太慢"]
    answered = survey(ctx)
    assert (answered.status, answered.reason, answered.score) == ("rated", "处理太慢", 2)
    last = events(ctx)[-1]
    assert (last.action, last.actor, last.note, last.data) == ("reason", CUSTOMER_ACTOR, "处理太慢",
                                                               {"reason": "slow"})
    assert last.at == clock.now
    assert press(ctx, "why:1:attitude").notice == ctx.texts("survey.already")
    assert survey(ctx).reason == "处理太慢"

    clock.advance(minutes=ctx.append_window / timedelta(minutes=1) - 5)  # still inside the window
    follow_up = handle(message("师傅一直没来，太慢了", message_id="m2"), ctx)
    assert follow_up.ticket_number == "1"
    assert texts_to(follow_up.actions, GROUP) == ["已补充到您的工单 1。"]
    assert ticket(ctx).status == "reopened"
    appended = events(ctx)[-1]
    assert (appended.action, appended.actor, appended.note) == ("appended", CUSTOMER_ACTOR, "师傅一直没来，太慢了")
    with ctx.uow() as uow:
        assert uow.tickets.count() == 1


@pytest.mark.parametrize("code", REASONS)
def test_every_reason_button_records_its_label(ctx: Context, code: str) -> None:
    open_ticket(ctx)
    resolve(ctx)
    rate(ctx, 1)
    why = press(ctx, f"why:1:{code}")
    label = ctx.texts(f"survey.reason_{code}")
    assert survey(ctx).reason == label and events(ctx)[-1].data == {"reason": code}
    expected = "survey.reason_other_reply" if code == "other" else "survey.reason_thanks"
    assert texts_to(why.actions, GROUP) == [ctx.texts(expected, number=1)]
    assert texts_to(why.actions, MANAGER_CHAT) == [ctx.texts("survey.reason_manager", number=1, reason=label)]


def test_after_choosing_other_the_customers_explanation_joins_the_reopened_ticket(
        ctx: Context, clock: FakeClock) -> None:
    open_ticket(ctx)
    resolve(ctx)
    rate(ctx, 2)
    why = press(ctx, "why:1:other")
    assert texts_to(why.actions, GROUP) == ["好的，请直接在群里说明情况，我们会记到工单 1 里。"]
    clock.advance(minutes=3)
    explanation = "上次来的师傅根本没弄好"
    assert ctx.classifier.classify(explanation).kind.value == "none"  # plain words, no appeal cue
    said = handle(message(explanation, message_id="m3"), ctx)
    assert said.ticket_number == "1"
    assert any(e.action == "appended" and e.note == explanation for e in events(ctx))


# --- a second round -------------------------------------------------------------------------------------------

def test_a_reopened_ticket_resolved_again_gets_a_second_round_answered_on_its_own(
        ctx: Context, clock: FakeClock) -> None:
    manager = open_ticket(ctx)
    resolve(ctx)
    rate(ctx, 2)
    press(ctx, "why:1:not_fixed")
    clock.advance(hours=2)
    again = resolve(ctx, "换了表箱，已恢复")
    [asked] = surveys_with_buttons(again)
    assert asked.reply_to_message_id == "m1"
    assert {b.data for row in asked.buttons for b in row} == ASKED_BY_SURVEY
    first, second = rounds(ctx)
    assert (first.round, first.status, first.score, first.reason) == (1, "rated", 2, "问题没解决")
    assert (second.round, second.status, second.score, second.asked_at) == (2, "asked", None, clock.now)
    assert ticket(ctx).status == "resolved"

    clock.advance(minutes=5)
    confirmed = rate(ctx, 5)
    assert texts_to(confirmed.actions, GROUP) == [ctx.texts("survey.thanks", score=5)]
    first, second = rounds(ctx)
    assert (first.status, first.score, first.reason) == ("rated", 2, "问题没解决")  # round 1 keeps its answer
    assert (second.status, second.score, second.staff_id) == ("rated", 5, manager.id)
    assert ticket(ctx).status == "closed"
    assert events(ctx)[-1].data == {"from": "resolved", "to": "closed", "rating": 5, "round": 2}
    assert press(ctx, "rate:1:1:ok").notice == ctx.texts("survey.already")


def test_a_rating_after_the_manager_reopened_the_ticket_is_kept_and_leaves_the_ticket_open(
        ctx: Context, clock: FakeClock) -> None:
    open_ticket(ctx)
    resolve(ctx)
    clock.advance(minutes=10)
    staff_says(ctx, "/reopen 1 客户电话说还有问题")
    assert ticket(ctx).status == "reopened"
    confirmed = rate(ctx, 5)
    assert texts_to(confirmed.actions, GROUP) == [ctx.texts("survey.thanks", score=5)]
    assert ticket(ctx).status == "reopened"
    assert (survey(ctx).status, survey(ctx).score) == ("rated", 5)
    last = events(ctx)[-1]
    assert (last.action, last.actor, last.note) == ("rated", CUSTOMER_ACTOR, "5")


def test_a_low_rating_after_the_manager_reopened_still_ends_in_a_consistent_survey(
        ctx: Context, clock: FakeClock) -> None:
    open_ticket(ctx)
    resolve(ctx)
    clock.advance(minutes=10)
    staff_says(ctx, "/reopen 1 客户电话说还有问题")
    confirmed = rate(ctx, 1)
    asks_why = any(b.data.startswith("why:1:") for a in confirmed.actions if isinstance(a, Send)
                   for row in a.buttons for b in row)
    status = survey(ctx).status
    assert (status == "awaiting_reason" and asks_why) or (status == "rated" and not asks_why)


# --- nobody answers -------------------------------------------------------------------------------------------

def test_an_unanswered_survey_closes_the_ticket_as_no_rating_after_the_timeout(
        ctx: Context, clock: FakeClock) -> None:
    open_ticket(ctx)
    resolve(ctx)
    asked_at = clock.now
    press(ctx, "rate:1:4")  # proposed but never confirmed: still unanswered
    clock.now = asked_at + ctx.survey_timeout - timedelta(minutes=1)
    before = snapshot(ctx)
    assert expire(ctx).actions == []
    assert snapshot(ctx) == before
    assert ticket(ctx).status == "resolved" and survey(ctx).status == "asked"

    clock.advance(minutes=2)
    assert expire(ctx).actions == []  # closing quietly: nothing is posted in the group
    closed = ticket(ctx)
    assert closed.status == "closed" and closed.closed_at == clock.now
    expired = survey(ctx)
    assert (expired.status, expired.score, expired.answered_at) == ("no_rating", None, clock.now)
    last = events(ctx)[-1]
    assert (last.action, last.actor, last.note) == ("closed", "system", "no_rating")
    assert last.data == {"from": "resolved", "to": "closed", "rating": None}

    count = len(events(ctx))
    clock.advance(hours=1)
    expire(ctx)  # a second run finds nothing more to do
    assert len(events(ctx)) == count
    for data in ("rate:1:4:ok", "rate:1:5", "why:1:slow"):
        late = press(ctx, data)
        assert late.actions == [] and late.notice == ctx.texts("survey.already"), data
    assert ticket(ctx).status == "closed" and survey(ctx).status == "no_rating"


def test_the_timeout_leaves_answered_and_dissatisfied_surveys_alone(ctx: Context, clock: FakeClock) -> None:
    open_ticket(ctx)
    resolve(ctx)
    rate(ctx, 2)  # awaiting the reason; the ticket is being handled again
    clock.advance(hours=ctx.survey_timeout / timedelta(hours=1) + 1)
    expire(ctx)
    assert ticket(ctx).status == "reopened" and survey(ctx).status == "awaiting_reason"


def test_an_old_unanswered_round_does_not_close_a_ticket_whose_new_round_is_running(
        ctx: Context, clock: FakeClock) -> None:
    open_ticket(ctx)
    resolve(ctx)  # round 1, never answered
    first_asked = clock.now
    clock.advance(hours=1)
    staff_says(ctx, "/reopen 1 客户电话说还有问题")
    clock.advance(hours=1)
    resolve(ctx, "再次检修完毕")  # round 2, asked two hours after round 1
    clock.now = first_asked + ctx.survey_timeout + timedelta(minutes=1)  # round 1 is overdue, round 2 is not
    expire(ctx)
    assert ticket(ctx).status == "resolved"  # the customer still has time to answer round 2
    assert survey(ctx).status == "asked"


# --- the timeline ---------------------------------------------------------------------------------------------

def test_the_timeline_names_every_step_and_who_took_it(ctx: Context, clock: FakeClock) -> None:
    manager = open_ticket(ctx)
    staff = f"staff:{manager.id}"
    clock.advance(minutes=5)
    staff_says(ctx, "/accept 1")
    clock.advance(minutes=40)
    resolve(ctx)
    clock.advance(minutes=20)
    rate(ctx, 2)
    press(ctx, "why:1:slow")
    timeline = [(e.action, e.actor) for e in events(ctx)]
    assert timeline == [
        ("opened", CUSTOMER_ACTOR), ("assigned", "system"), ("accepted", staff), ("resolved", staff),
        ("rated", CUSTOMER_ACTOR), ("reopened", CUSTOMER_ACTOR), ("reason", CUSTOMER_ACTOR),
    ]
    times = [e.at for e in events(ctx)]
    assert times == sorted(times)

    clock.advance(hours=3)
    resolve(ctx, "已更换线路")
    rate(ctx, 5)
    timeline = [(e.action, e.actor) for e in events(ctx)]
    assert timeline[7:] == [("resolved", staff), ("rated", CUSTOMER_ACTOR), ("closed", CUSTOMER_ACTOR)]
    assert [(e.note, e.data) for e in events(ctx) if e.action == "rated"] == [
        ("2", {"rating": 2, "round": 1}), ("5", {"rating": 5, "round": 2})]
    assert [e.data for e in events(ctx) if e.action in ("reopened", "closed")] == [
        {"from": "resolved", "to": "reopened", "rating": 2, "round": 1},
        {"from": "resolved", "to": "closed", "rating": 5, "round": 2}]

    detail = texts_to(staff_says(ctx, "/ticket 1").actions, MANAGER_CHAT)[0]
    assert "评价" in detail and "不满意原因" in detail and "处理太慢" in detail


def test_the_satisfied_timeline_and_the_no_rating_timeline(ctx: Context, clock: FakeClock) -> None:
    manager = open_ticket(ctx)
    resolve(ctx)
    rate(ctx, 5)
    assert [(e.action, e.actor) for e in events(ctx)] == [
        ("opened", CUSTOMER_ACTOR), ("assigned", "system"), ("resolved", f"staff:{manager.id}"),
        ("rated", CUSTOMER_ACTOR), ("closed", CUSTOMER_ACTOR)]

    handle(message("电费怎么交", user="502", name="张阿姨", message_id="m9"), ctx)
    staff_says(ctx, "/resolve 2 已告知缴费方式")
    clock.advance(hours=ctx.survey_timeout / timedelta(hours=1), minutes=1)
    expire(ctx)
    assert [(e.action, e.actor, e.note) for e in events(ctx, 2)] == [
        ("opened", "customer:telegram:502", "电费怎么交"), ("assigned", "system", ""),
        ("resolved", f"staff:{manager.id}", "已告知缴费方式"), ("closed", "system", "no_rating")]
    assert ticket(ctx, 1).status == ticket(ctx, 2).status == "closed"
    assert (survey(ctx, 1).status, survey(ctx, 2).status) == ("rated", "no_rating")
