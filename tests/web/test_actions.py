"""Acting from the page goes through the chat's own commands and buttons, behind the session's CSRF token."""

from __future__ import annotations

from sqlmodel import select

from bot.web.app import Board
from handlers.types import ChatRef, Delete, Send
from storage.models import InboundMessage, OutboxMessage, TicketEvent
from tests.web.conftest import Delivered, csrf_of, nonce_of, sign_in
from tests.web.seed import PHONES, World

GROUP = ChatRef("telegram", "-1001")


def _outbox(board: Board) -> list[OutboxMessage]:
    with board.ctx.uow() as uow:
        return list(uow.session.exec(select(OutboxMessage).order_by(OutboxMessage.id)).all())  # type: ignore[arg-type]


def test_every_post_needs_the_sessions_csrf_token(board: Board, world: World) -> None:
    http = sign_in(board, world.staff["li"])
    number = world.tickets["li"]
    page = http.get(f"/tickets/{number}").text
    form = {"nonce": nonce_of(page), "text": "已恢复供电"}
    assert http.post(f"/tickets/{number}/resolve", data=form).status_code == 403  # missing
    assert http.post(f"/tickets/{number}/resolve", data={**form, "csrf": "x" * 43}).status_code == 403  # wrong
    other = sign_in(board, world.staff["zhou"])  # another session's token is wrong too
    assert http.post(f"/tickets/{number}/resolve", data={**form, "csrf": csrf_of(other)}).status_code == 403
    assert http.post(f"/risk/{world.risk['li']}/dismiss", data={}).status_code == 403
    assert http.post("/logout", data={"csrf": ""}).status_code == 403
    with board.ctx.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.status == "new"
    assert _outbox(board) == []
    answer = http.post(f"/tickets/{number}/resolve", data={**form, "csrf": csrf_of(http)})  # right
    assert answer.status_code == 303 and answer.headers["location"] == f"/tickets/{number}"


def test_resolve_from_the_page_posts_in_the_group_like_the_chat_command(board: Board, world: World,
                                                                        delivered: Delivered) -> None:
    http = sign_in(board, world.staff["li"])
    number = world.tickets["li"]
    page = http.get(f"/tickets/{number}").text
    data = {"csrf": csrf_of(http), "nonce": nonce_of(page), "text": f"3组线路已修复，有事打{PHONES[0]}"}
    assert http.post(f"/tickets/{number}/resolve", data=data).status_code == 303
    with board.ctx.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.status == "resolved" and ticket.resolution
        event = uow.session.exec(select(TicketEvent).where(TicketEvent.action == "resolved")).one()
        assert event.actor == f"staff:{world.staff['li'].id}"
        assert uow.session.exec(select(InboundMessage)).one().message_id == f"web:{data['nonce']}"
    to_group = [q.action for q in delivered if q.action.chat == GROUP]
    assert any(isinstance(a, Send) and "已办结" in a.text and "138****5678" in a.text for a in to_group)
    assert any(isinstance(a, Send) and "打个分" in a.text for a in to_group)  # the survey, as from the chat
    assert {q.outbox_id for q in delivered} == {row.id for row in _outbox(board)}  # all handed to delivery at once
    shown = http.get(f"/tickets/{number}")
    assert "已办结" in shown.text and 'class="flash"' in shown.text  # the bot's answer to the staff member
    assert "gridbot_flash=" in shown.headers.get("set-cookie", "")  # shown once, then cleared
    # The same form sent again (a reload, a double click) is carried out once.
    assert http.post(f"/tickets/{number}/resolve", data=data).status_code == 303
    assert len(_outbox(board)) == len(delivered)
    assert "已经提交过" in http.get(f"/tickets/{number}").text


def test_reply_and_assign_from_the_page(board: Board, world: World, delivered: Delivered) -> None:
    http = sign_in(board, world.staff["zhao"])
    number = world.tickets["li"]
    page = http.get(f"/tickets/{number}").text
    csrf = csrf_of(http)
    assert http.post(f"/tickets/{number}/reply", data={"csrf": csrf, "nonce": nonce_of(page),
                                                       "text": "师傅已出发"}).status_code == 303
    assert any(isinstance(q.action, Send) and "【工单 1 回复】师傅已出发" in q.action.text for q in delivered)
    page = http.get(f"/tickets/{number}").text
    assert http.post(f"/tickets/{number}/assign", data={"csrf": csrf, "nonce": nonce_of(page),
                                                        "staff": str(world.staff["zhou"].id)}).status_code == 303
    with board.ctx.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.assignee_id == world.staff["zhou"].id and ticket.status == "in_progress"
    zhou = ChatRef("telegram", world.staff["zhou"].user_id)
    assert any(q.action.chat == zhou for q in delivered)  # the new assignee hears of it in private
    # Someone of another station is not offered, and not accepted either.
    page = http.get(f"/tickets/{number}").text
    assert "吴经理" not in page
    http.post(f"/tickets/{number}/assign", data={"csrf": csrf, "nonce": nonce_of(page),
                                                 "staff": str(world.staff["wu"].id)})
    with board.ctx.uow() as uow:
        ticket = uow.tickets.get(number)
        assert ticket is not None and ticket.assignee_id == world.staff["zhou"].id


def test_an_illegal_move_is_refused_with_the_chats_words(board: Board, world: World) -> None:
    http = sign_in(board, world.staff["li"])
    number = world.tickets["li"]
    page = http.get(f"/tickets/{number}").text
    csrf = csrf_of(http)
    http.post(f"/tickets/{number}/resolve", data={"csrf": csrf, "nonce": nonce_of(page), "text": "修好了"})
    assert 'name="nonce"' not in http.get(f"/tickets/{number}").text  # no action forms on a resolved ticket
    # A form left open in another tab: the command refuses, in the words the chat would use.
    http.post(f"/tickets/{number}/resolve", data={"csrf": csrf, "nonce": "other-tab-nonce-0001", "text": "又修了"})
    assert "当前为「已办结」，不能办结" in http.get(f"/tickets/{number}").text
    with board.ctx.uow() as uow:
        assert len(uow.session.exec(select(TicketEvent).where(TicketEvent.action == "resolved")).all()) == 1


def test_empty_text_is_not_sent(board: Board, world: World, delivered: Delivered) -> None:
    http = sign_in(board, world.staff["li"])
    number = world.tickets["li"]
    page = http.get(f"/tickets/{number}").text
    http.post(f"/tickets/{number}/reply", data={"csrf": csrf_of(http), "nonce": nonce_of(page), "text": "  "})
    assert delivered == [] and "请填写内容" in http.get(f"/tickets/{number}").text


def test_risk_review_from_the_page_does_what_the_chat_buttons_do(board: Board, world: World,
                                                                 delivered: Delivered) -> None:
    http = sign_in(board, world.staff["li"])
    csrf = csrf_of(http, "/risk")
    assert http.post(f"/risk/{world.risk['li']}/delete", data={"csrf": csrf}).status_code == 303
    assert any(isinstance(q.action, Delete) and q.action.message_id == "77" for q in delivered)
    with board.ctx.uow() as uow:
        event = uow.risk.get(world.risk["li"])
        assert event is not None and event.action == "deleted" and event.handled_by == world.staff["li"].id
    http.post(f"/risk/{world.risk['li']}/dismiss", data={"csrf": csrf})
    assert "已由其他同事处理" in http.get("/risk").text  # the chat button's own answer to a second press
    admin = sign_in(board, world.staff["admin"])
    assert admin.post(f"/risk/{world.risk['wu']}/dismiss", data={"csrf": csrf_of(admin)}).status_code == 303
    with board.ctx.uow() as uow:
        event = uow.risk.get(world.risk["wu"])
        assert event is not None and event.action == "dismissed"
