"""The dashboard's (工作看板) Starlette app: sessions, role scope, CSRF, language and rendering.

Pages are plain functions `(board, viewer, request) -> Response` (pages.py, lists.py) and form posts
`(board, viewer, request, form) -> Response` (actions.py); signing in and out is in signin.py. `Board.page`
and `Board.action` wrap them with the checks every one of them needs, so none can forget one: a session
(else the sign-in page), the role's scope (in every query), the CSRF token of the session on every POST
(else 403), and masking of phone and ID numbers in every value a template prints (the `finalize` hook of
the Jinja environment).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, unquote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from bot.web.access import scope_of
from bot.web.auth import Raw, new_token, same
from bot.web.texts import LANGUAGES, WebTexts
from config.settings import WebSettings
from handlers.context import Context
from handlers.i18n import Texts
from handlers.privacy import mask_phone, mask_text
from handlers.types import Queued
from storage.dashboard import Scope, WebAuth
from storage.models import Staff, WebSession
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SESSION_COOKIE, FORM_COOKIE = "gridbot_session", "gridbot_form"
LANG_COOKIE, FLASH_COOKIE = "gridbot_lang", "gridbot_flash"
T = TypeVar("T")
Deliver = Callable[[Sequence[Queued]], None]
RunInDb = Callable[..., Awaitable[Any]]
HEADERS = {
    # Scripts and styles from this server only; the chart data travels as JSON in a non-executed <script>.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a sign-in link in the address bar never leaves in a Referer
    "Cache-Control": "no-store",
}


def _masked(value: object) -> object:
    """Jinja's finalize: every printed value goes through the project's masking of phone and ID numbers."""
    if value is None:
        return ""
    if isinstance(value, Raw):
        return value
    if isinstance(value, Markup):
        return Markup(mask_text(str(value)))
    return mask_text(value if isinstance(value, str) else str(value))


@dataclass
class Viewer:
    staff: Staff
    session: WebSession
    scope: Scope
    language: str
    flash: str = ""

    @property
    def csrf(self) -> Raw:
        return Raw(self.session.csrf_token)


Page = Callable[["Board", Viewer, Request], Awaitable[Response]]
Action = Callable[["Board", Viewer, Request, FormData], Awaitable[Response]]


class Board:
    def __init__(self, ctx: Context, web: WebSettings, *, base_url: str, language: str, deliver: Deliver,
                 run_in_db: RunInDb | None = None) -> None:
        self.ctx, self.web, self.base_url, self.language = ctx, web, base_url.rstrip("/"), language
        self.deliver, self.run_in_db = deliver, run_in_db
        self.env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(),
                               finalize=_masked, trim_blocks=True, lstrip_blocks=True)
        self.core_texts = {lang: Texts(lang, ctx.tz) for lang in LANGUAGES}
        from bot.web import actions, lists, pages, signin  # the route tables import Board

        static = Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static")
        routes: list[BaseRoute] = [*signin.routes(self), *pages.routes(self), *lists.routes(self),
                                   *actions.routes(self), static]
        self.app = Starlette(routes=routes, exception_handlers={HTTPException: self._error})

    # ------------------------------------------------------------------------------------------ database
    async def read(self, job: Callable[[UnitOfWork], T]) -> T:
        """Read (or write a sign-in record) in a thread, off the event loop."""
        def run() -> T:
            with self.ctx.uow() as uow:
                return job(uow)
        return await run_in_threadpool(run)

    async def core(self, job: Callable[[], T]) -> T:
        """Run the core (a command, a button) where the service runs it: its database workers."""
        if self.run_in_db is not None:
            return await self.run_in_db(job)
        return await run_in_threadpool(job)

    def now(self) -> datetime:
        return self.ctx.clock()

    # ------------------------------------------------------------------------------------------ requests
    def language_of(self, request: Request) -> str:
        wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or self.language
        return wanted if wanted in LANGUAGES else self.language

    async def viewer(self, request: Request) -> Viewer | None:
        token = request.cookies.get(SESSION_COOKIE, "")
        if not token or len(token) > 200:
            return None
        found = await self.read(lambda uow: WebAuth(uow.session).signed_in(token, self.now()))
        if found is None:
            return None
        session, staff = found
        return Viewer(staff, session, scope_of(staff), self.language_of(request),
                      unquote(request.cookies.get(FLASH_COOKIE, ""))[:300])

    def page(self, handler: Page) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            viewer = await self.viewer(request)
            if viewer is None:
                return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
            response = await handler(self, viewer, request)
            if viewer.flash:
                response.delete_cookie(FLASH_COOKIE, path="/")
            return self.finish(request, response)
        return endpoint

    def action(self, handler: Action) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            viewer = await self.viewer(request)
            form = await request.form(max_files=0, max_fields=20)
            if viewer is None or not same(form.get("csrf"), viewer.session.csrf_token):
                log.warning("dashboard: refused %s %s (no session or wrong CSRF token)", request.method,
                            request.url.path)
                raise HTTPException(403)
            return self.finish(request, await handler(self, viewer, request, form))
        return endpoint

    def redirect(self, path: str, flash: str = "") -> Response:
        response = RedirectResponse(path if path.startswith("/") and not path.startswith("//") else "/",
                                    status_code=303)
        if flash:
            # 300 characters stay under a cookie's 4 kB once percent-encoded (9 bytes per Chinese character).
            response.set_cookie(FLASH_COOKIE, quote(flash[:300]), max_age=60, httponly=True, samesite="lax",
                                secure=self.web.secure_cookies)
        return response

    def finish(self, request: Request, response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if request.query_params.get("lang") in LANGUAGES:
            response.set_cookie(LANG_COOKIE, request.query_params["lang"], max_age=365 * 86400, samesite="lax",
                                secure=self.web.secure_cookies)
        return response

    # ------------------------------------------------------------------------------------------ rendering
    def render(self, request: Request, template: str, language: str, status_code: int = 200,
               viewer: Viewer | None = None, **values: Any) -> HTMLResponse:
        texts = self.core_texts[language]

        def chat_text(key: str) -> str:
            """A name from the chat's texts (kinds, statuses, actions); a key it does not know shows as is."""
            try:
                return texts(key)
            except KeyError:
                return key.rpartition(".")[2]

        html = self.env.get_template(template).render(
            t=WebTexts(language), ct=chat_text, viewer=viewer, lang=language, path=request.url.path,
            when=lambda moment: texts.at(moment) if moment else "-", mask_phone=mask_phone,
            nonce=lambda: new_token(16), station=self.ctx.station_name, **values)
        return HTMLResponse(html, status_code=status_code)

    def show(self, request: Request, viewer: Viewer, template: str, **values: Any) -> HTMLResponse:
        return self.render(request, template, viewer.language, viewer=viewer, **values)

    async def _error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        response = self.render(request, "error.html", self.language_of(request), status_code=status, status=status)
        return self.finish(request, response)
