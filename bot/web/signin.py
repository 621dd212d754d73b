"""Signing in and out: a password form, a one-time link from the bot (/login), and sign-out.

Anonymous forms (the password form, the link's confirmation) are protected by a double-submit token: a
random cookie that the form must repeat. A sign-in link is confirmed with a button (POST) rather than used
by merely opening it, so a chat app's link preview cannot spend it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from bot.web.app import FORM_COOKIE, SESSION_COOKIE, Board, Viewer
from bot.web.auth import Raw, Throttle, new_token, same, verify_password
from storage.dashboard import WebAuth
from storage.uow import UnitOfWork


def routes(board: Board) -> list[BaseRoute]:
    throttle = Throttle()

    async def login_form(request: Request) -> Response:
        if await board.viewer(request) is not None:
            return board.redirect("/")
        return _form_page(board, request, "login.html", next=_next(request.query_params.get("next")))

    async def login(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        if not same(form.get("form"), request.cookies.get(FORM_COOKIE, "")):
            return board.finish(request, board.render(request, "error.html", board.language_of(request),
                                                      status_code=403, status=403))
        who, password = str(form.get("who", "")).strip()[:100], str(form.get("password", ""))[:200]
        target = _next(str(form.get("next", "")))
        if throttle.blocked(who):
            return _form_page(board, request, "login.html", next=target, error="login.throttled", status_code=429)
        staff_id = await board.read(lambda uow: _check_password(uow, who, password))
        if staff_id is None:
            throttle.failed(who)
            return _form_page(board, request, "login.html", next=target, error="login.failed", status_code=401)
        throttle.succeeded(who)
        return await _signed_in(board, request, staff_id, target)

    async def link_form(request: Request) -> Response:
        return _form_page(board, request, "link.html", token=Raw(request.path_params["token"][:100]))

    async def use_link(request: Request) -> Response:
        form = await request.form(max_files=0, max_fields=10)
        token = request.path_params["token"]
        if not same(form.get("form"), request.cookies.get(FORM_COOKIE, "")) or len(token) > 100:
            return board.finish(request, board.render(request, "error.html", board.language_of(request),
                                                      status_code=403, status=403))

        def consume(uow: UnitOfWork) -> int | None:
            staff_id = WebAuth(uow.session).consume_link(token, board.now())
            uow.commit()
            return staff_id

        staff_id = await board.read(consume)
        if staff_id is None:
            return _form_page(board, request, "link.html", token=Raw(token[:100]), error="link.invalid",
                              status_code=400)
        return await _signed_in(board, request, staff_id, "/")

    async def logout(board_: Board, viewer: Viewer, request: Request, form: FormData) -> Response:
        def revoke(uow: UnitOfWork) -> None:
            WebAuth(uow.session).revoke(viewer.session.id or 0, board.now())
            uow.commit()

        await board.read(revoke)
        response = board.redirect("/login")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return [Route("/login", login_form, methods=["GET"]), Route("/login", login, methods=["POST"]),
            Route("/login/link/{token}", link_form, methods=["GET"]),
            Route("/login/link/{token}", use_link, methods=["POST"]),
            Route("/logout", board.action(logout), methods=["POST"])]


def _next(value: str | None) -> str:
    """Only a path on this site: never an absolute URL an attacker chose."""
    return value if value and value.startswith("/") and not value.startswith(("//", "/\\")) else "/"


def _form_page(board: Board, request: Request, template: str, status_code: int = 200, **values: Any) -> Response:
    token = request.cookies.get(FORM_COOKIE) or new_token()
    response = board.render(request, template, board.language_of(request), status_code=status_code,
                            form_token=Raw(token), **values)
    response.set_cookie(FORM_COOKIE, token, max_age=3600, httponly=True, samesite="strict",
                        secure=board.web.secure_cookies, path="/")
    return board.finish(request, response)


def _check_password(uow: UnitOfWork, who: str, password: str) -> int | None:
    """The staff id when exactly one active staff member answers to `who` and the password is theirs."""
    found = WebAuth(uow.session).staff_named(who) if who else []
    staff = found[0] if len(found) == 1 else None
    ok = verify_password(password, staff.password_hash if staff else None)  # the same cost either way
    return staff.id if ok and staff is not None else None


async def _signed_in(board: Board, request: Request, staff_id: int, target: str) -> Response:
    token, csrf = new_token(), new_token()
    lasts = timedelta(hours=board.web.session_hours)

    def start(uow: UnitOfWork) -> None:
        WebAuth(uow.session).start_session(staff_id, token, csrf, board.now(), lasts)
        uow.commit()

    await board.read(start)
    response = board.redirect(target)
    response.set_cookie(SESSION_COOKIE, token, max_age=int(lasts.total_seconds()), httponly=True, samesite="lax",
                        secure=board.web.secure_cookies, path="/")
    return board.finish(request, response)
