"""Signing in: a password set with `gridbot staff passwd`, a one-time link, sessions that expire, sign-out."""

from __future__ import annotations

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from bot.web.app import FORM_COOKIE, SESSION_COOKIE, Board
from bot.web.auth import hash_password, verify_password
from config.settings import WebSettings
from storage.dashboard import WebAuth, token_hash
from storage.models import LoginLink, WebSession
from tests.conftest import FakeClock
from tests.web.conftest import BASE, FORM, csrf_of, link_for, sign_in, use_link
from tests.web.seed import World


def _set_password(board: Board, staff_id: int, password: str) -> None:
    with board.ctx.uow() as uow:
        WebAuth(uow.session).set_password(staff_id, hash_password(password))
        uow.commit()


def _login(http: TestClient, who: str, password: str) -> int:
    form = FORM.search(http.get("/login").text)
    assert form is not None
    return http.post("/login", data={"form": form.group(1), "who": who, "password": password}).status_code


def test_password_hashes_are_salted_scrypt_and_checked_in_constant_time() -> None:
    first, second = hash_password("幸福村2026!"), hash_password("幸福村2026!")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert verify_password("幸福村2026!", first) and not verify_password("幸福村2026", first)
    assert not verify_password("anything", None) and not verify_password("x", "md5$abc")


def test_pages_need_a_session(client: TestClient) -> None:
    answer = client.get("/tickets")
    assert answer.status_code == 303 and answer.headers["location"] == "/login?next=/tickets"


def test_password_sign_in_by_name_or_user_id(board: Board, client: TestClient, world: World) -> None:
    _set_password(board, world.staff["li"].id or 0, "correct horse")
    assert _login(client, "李经理", "wrong horse") == 401
    assert _login(client, "nobody", "correct horse") == 401
    assert not client.cookies.get(SESSION_COOKIE)
    assert _login(client, "李经理", "correct horse") == 303
    assert "李经理" in client.get("/").text
    other = TestClient(board.app, base_url=BASE, follow_redirects=False)
    assert _login(other, "telegram:900001", "correct horse") == 303
    assert _login(TestClient(board.app, base_url=BASE), "900001", "correct horse") == 200  # followed to the overview


def test_staff_without_a_password_cannot_sign_in_with_one(client: TestClient) -> None:
    assert _login(client, "周经理", "") == 401
    assert _login(client, "周经理", "scrypt") == 401


def test_password_guessing_is_braked(board: Board, client: TestClient, world: World) -> None:
    _set_password(board, world.staff["li"].id or 0, "correct horse")
    for _ in range(5):
        assert _login(client, "李经理", "guess") == 401
    assert _login(client, "李经理", "correct horse") == 429


def test_the_login_form_needs_its_double_submit_token(client: TestClient) -> None:
    client.get("/login")
    assert client.cookies.get(FORM_COOKIE)
    assert client.post("/login", data={"who": "李经理", "password": "x"}).status_code == 403
    assert client.post("/login", data={"form": "forged", "who": "李经理", "password": "x"}).status_code == 403


def test_a_link_signs_in_once_and_only_its_hash_is_stored(board: Board, world: World) -> None:
    path = link_for(board, world.staff["li"])
    token = path.rsplit("/", 1)[1]
    with board.ctx.uow() as uow:
        [link] = uow.session.exec(select(LoginLink)).all()
        assert link.token_hash == token_hash(token) and token not in link.token_hash
    first = TestClient(board.app, base_url=BASE, follow_redirects=False)
    assert first.get(path).status_code == 200  # opening the link (a chat preview, say) does not spend it
    assert use_link(first, path) == 303
    again = TestClient(board.app, base_url=BASE, follow_redirects=False)
    assert use_link(again, path) == 400
    assert not again.cookies.get(SESSION_COOKIE)


def test_a_link_expires(board: Board, world: World, clock: FakeClock) -> None:
    path = link_for(board, world.staff["li"])
    clock.advance(minutes=15, seconds=1)
    assert use_link(TestClient(board.app, base_url=BASE, follow_redirects=False), path) == 400


def test_a_new_link_replaces_the_unused_one(board: Board, world: World) -> None:
    old, new = link_for(board, world.staff["li"]), link_for(board, world.staff["li"])
    assert use_link(TestClient(board.app, base_url=BASE, follow_redirects=False), old) == 400
    assert use_link(TestClient(board.app, base_url=BASE, follow_redirects=False), new) == 303


def test_a_link_button_needs_its_double_submit_token(board: Board, world: World) -> None:
    path = link_for(board, world.staff["li"])
    http = TestClient(board.app, base_url=BASE, follow_redirects=False)
    assert http.post(path, data={}).status_code == 403
    assert use_link(http, path) == 303  # the refused attempt did not spend it


def test_session_cookie_flags_and_stored_hash(board: Board, world: World) -> None:
    http = sign_in(board, world.staff["li"])
    token = http.cookies[SESSION_COOKIE]
    with board.ctx.uow() as uow:
        [session] = uow.session.exec(select(WebSession)).all()
        assert session.token_hash == token_hash(token)
    secure = Board(board.ctx, WebSettings(secure_cookies=True), base_url=BASE, language="zh_CN",
                   deliver=lambda _: None)
    path = link_for(board, world.staff["zhou"])
    browser = TestClient(secure.app, base_url="https://testserver", follow_redirects=False)
    form = FORM.search(browser.get(path).text)
    assert form is not None
    answer = browser.post(path, data={"form": form.group(1)})
    header = answer.headers["set-cookie"].lower()
    assert answer.status_code == 303 and header.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in header and "samesite=lax" in header and "; secure" in header
    assert "secure" not in http.get("/").headers.get("set-cookie", "")


def test_sessions_expire(board: Board, world: World, clock: FakeClock) -> None:
    http = sign_in(board, world.staff["li"])
    assert http.get("/").status_code == 200
    clock.advance(hours=12, seconds=1)
    assert http.get("/").status_code == 303


def test_sign_out_revokes_the_session(board: Board, world: World) -> None:
    http = sign_in(board, world.staff["li"])
    token = http.cookies[SESSION_COOKIE]
    assert http.post("/logout", data={"csrf": csrf_of(http)}).status_code == 303
    replay = TestClient(board.app, base_url=BASE, follow_redirects=False, cookies={SESSION_COOKIE: token})
    assert replay.get("/").status_code == 303  # the old cookie is worth nothing now


def test_an_inactive_staff_member_is_signed_out(board: Board, world: World) -> None:
    http = sign_in(board, world.staff["li"])
    with board.ctx.uow() as uow:
        staff = uow.staff.get(world.staff["li"].id or 0)
        assert staff is not None
        staff.active = False
        uow.staff.save(staff)
        uow.commit()
    assert http.get("/").status_code == 303


@pytest.mark.parametrize("next_path", ["https://evil.example/", "//evil.example/", "/\\evil"])
def test_sign_in_never_redirects_off_site(board: Board, client: TestClient, world: World, next_path: str) -> None:
    _set_password(board, world.staff["li"].id or 0, "correct horse")
    form = FORM.search(client.get("/login").text)
    assert form is not None
    answer = client.post("/login", data={"form": form.group(1), "who": "李经理", "password": "correct horse",
                                         "next": next_path})
    assert answer.headers["location"] == "/"
