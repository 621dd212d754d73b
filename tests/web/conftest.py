"""The dashboard under test: the real Board on the seeded world, driven through Starlette's TestClient."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator, Sequence
from datetime import timedelta

import pytest

with warnings.catch_warnings():  # Starlette 1.x prefers httpx2 for its TestClient; httpx still works
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

from bot.web.app import SESSION_COOKIE, Board
from config.settings import WebSettings
from handlers.commands import web_login
from handlers.context import Context
from handlers.types import Queued
from storage.dashboard import WebAuth
from storage.models import Staff
from tests.web.seed import World, seed

BASE = "http://testserver"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
NONCE = re.compile(r'name="nonce" value="([^"]+)"')
FORM = re.compile(r'name="form" value="([^"]+)"')


class Delivered(list[Queued]):
    """What the dashboard handed to the service's delivery."""

    def __call__(self, queued: Sequence[Queued]) -> None:
        self.extend(queued)


@pytest.fixture
def world(ctx: Context) -> World:
    return seed(ctx)


@pytest.fixture
def delivered() -> Delivered:
    return Delivered()


@pytest.fixture
def board(ctx: Context, world: World, delivered: Delivered) -> Board:
    board = Board(ctx, WebSettings(), base_url=BASE, language="zh_CN", deliver=delivered)
    web_login.enable(ctx, web_login.LinkPolicy(BASE, timedelta(minutes=15)))
    return board


@pytest.fixture
def client(board: Board) -> Iterator[TestClient]:
    with TestClient(board.app, base_url=BASE, follow_redirects=False) as http:
        yield http


def link_for(board: Board, staff: Staff) -> str:
    """A one-time sign-in link, as /login would send it."""
    policy = web_login.policy_of(board.ctx)
    assert policy is not None
    with board.ctx.uow() as uow:
        _, url = web_login.issue_link(WebAuth(uow.session), staff.id or 0, policy, board.ctx)
        uow.commit()
    return url.removeprefix(BASE)


def use_link(http: TestClient, path: str) -> int:
    """Open the link page and press its button, as a person would; the status of the POST."""
    page = http.get(path)
    form = FORM.search(page.text)
    assert form is not None, page.text
    return http.post(path, data={"form": form.group(1)}).status_code


def sign_in(board: Board, staff: Staff) -> TestClient:
    http = TestClient(board.app, base_url=BASE, follow_redirects=False)
    assert use_link(http, link_for(board, staff)) == 303
    assert http.cookies.get(SESSION_COOKIE)
    return http


def csrf_of(http: TestClient, path: str = "/") -> str:
    found = CSRF.search(http.get(path).text)
    assert found is not None
    return found.group(1)


def nonce_of(page: str) -> str:
    found = NONCE.search(page)
    assert found is not None
    return found.group(1)
