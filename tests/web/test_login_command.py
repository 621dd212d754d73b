"""/login in a private chat sends a one-time link; `gridbot staff passwd` sets a dashboard password."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from bot.web.app import Board
from bot.web.auth import verify_password
from handlers.commands import web_login
from handlers.context import Context
from handlers.router import handle
from handlers.types import Send
from storage.dashboard import token_hash
from storage.db import make_engine
from storage.migrate import upgrade
from storage.models import LoginLink, OutboxMessage, Staff
from storage.uow import UnitOfWork
from tests.cli_helpers import gridbot, isolate
from tests.handlers.helpers import GROUP, message
from tests.web.conftest import BASE, use_link
from tests.web.seed import World

LINK = re.compile(r"http://testserver(/login/link/[A-Za-z0-9_-]+)")


def _answers(ctx: Context, text: str, *, user: str = "900001", private: bool = True) -> list[str]:
    outcome = handle(message(text, user=user, name="李经理", private=private, chat=GROUP), ctx)
    return [a.text for a in outcome.actions if isinstance(a, Send)]


def test_login_sends_a_link_whose_token_is_stored_only_as_a_hash(board: Board, world: World) -> None:
    [answer] = _answers(board.ctx, "/login")
    found = LINK.search(answer)
    assert found is not None and "15 分钟" in answer
    token = found.group(1).rsplit("/", 1)[1]
    with board.ctx.uow() as uow:
        [link] = uow.session.exec(select(LoginLink)).all()
        [row] = uow.session.exec(select(OutboxMessage)).all()
    assert link.token_hash == token_hash(token) and link.staff_id == world.staff["li"].id
    assert row.dedupe_key == f"login:{link.id}" and row.chat_id == "900001"
    assert use_link(TestClient(board.app, base_url=BASE, follow_redirects=False), found.group(1)) == 303
    with board.ctx.uow() as uow:
        [row] = uow.session.exec(select(OutboxMessage)).all()
    assert token not in row.text  # the spent link's message keeps no usable token


def test_login_is_for_staff_in_private_only(board: Board, world: World) -> None:
    assert "仅限工作人员" in _answers(board.ctx, "/login", user="511")[0]
    assert "私聊" in _answers(board.ctx, "/login", private=False)[0]
    with board.ctx.uow() as uow:
        assert uow.session.exec(select(LoginLink)).all() == []


def test_login_says_so_when_the_dashboard_is_off(ctx: Context, world: World) -> None:
    assert web_login.policy_of(ctx) is None
    assert "没有开启" in _answers(ctx, "/login")[0]


def test_link_lifetime_comes_from_the_policy(board: Board, world: World) -> None:
    web_login.enable(board.ctx, web_login.LinkPolicy(BASE, timedelta(minutes=3)))
    assert "3 分钟" in _answers(board.ctx, "/login")[0]


def _database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'staff.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def _hash(url: str, user_id: str) -> str | None:
    engine = make_engine(url)
    try:
        with UnitOfWork(engine) as uow:
            staff = uow.session.exec(select(Staff).where(Staff.user_id == user_id)).one()
            return staff.password_hash
    finally:
        engine.dispose()


def test_staff_passwd_prompts_twice_or_reads_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate(monkeypatch, tmp_path)
    url = _database(tmp_path)
    monkeypatch.setenv("GRIDBOT_DATABASE_URL", url)
    for user_id, name in (("900001", "李经理"), ("900002", "周经理")):
        code, out = gridbot("staff", "add", "--platform", "telegram", "--user-id", user_id, "--role",
                            "grid_manager", "--name", name)
        assert code == 0, out
    code, out = gridbot("staff", "passwd", "李经理", stdin="幸福村供电2026\n幸福村供电2026\n")
    assert code == 0 and "password set" in out and "幸福村供电2026" not in out, out
    assert verify_password("幸福村供电2026", _hash(url, "900001"))
    code, out = gridbot("staff", "passwd", "telegram:900002", "--password-stdin", stdin="another-secret\n")
    assert code == 0, out
    assert verify_password("another-secret", _hash(url, "900002"))
    assert gridbot("staff", "passwd", "900001", stdin="abcdefgh\nabcdefgX\n")[0] != 0  # the two differ
    assert gridbot("staff", "passwd", "900001", "--password-stdin", stdin="short\n")[0] != 0
    assert gridbot("staff", "passwd", "nobody", "--password-stdin", stdin="long enough\n")[0] != 0
    assert verify_password("幸福村供电2026", _hash(url, "900001"))  # the refusals changed nothing
    code, out = gridbot("staff", "passwd", "900001", "--clear")
    assert code == 0 and _hash(url, "900001") is None
