"""Starlette routes of the fake Bot API: ``/bot{token}/{method}`` (GET or POST, any parameter encoding).

Answers are Telegram's envelopes: ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": N,
"description": "...", "parameters": {...}}`` with the HTTP status equal to error_code. Method names are
case-insensitive as in Telegram. Every call (except a malformed token) lands in ``World.calls``.
``/file/bot{token}/{file_path}`` serves the files getFile describes (what bots uploaded).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.admin import ADMIN_METHODS
from bot.sandbox.botconfig import SETUP_METHODS
from bot.sandbox.delivery import Hub
from bot.sandbox.errors import ApiError
from bot.sandbox.media import MEDIA_METHODS
from bot.sandbox.methods import METHODS, Method
from bot.sandbox.params import Params, decoded, parse_body

JSON = dict[str, Any]
ALL_METHODS: dict[str, Method] = {**METHODS, **MEDIA_METHODS, **ADMIN_METHODS, **SETUP_METHODS}
KNOWN = frozenset(ALL_METHODS) | {"getupdates"}


def _loose_chat_id(raw: JSON) -> int | None:
    """chat_id for fault matching only; validation proper happens in the method."""
    try:
        return int(raw.get("chat_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def _reply(body: JSON, status: int = 200) -> Response:
    return JSONResponse(body, status_code=status)


async def bot_method(request: Request) -> Response:
    hub: Hub = request.app.state.hub
    world = hub.world
    method = request.path_params["method"]
    try:
        bot = world.bot_for_token(request.path_params["token"])
    except ApiError as exc:
        return _reply(exc.to_json(), exc.code)
    raw: JSON = {}
    name = method.lower()
    try:
        raw = parse_body(
            request.headers.get("content-type", ""), await request.body(), dict(request.query_params)
        )
        if name not in KNOWN:
            raise ApiError(404, "Not Found")
        fault = world.faults.take(name, _loose_chat_id(raw))
        if fault is not None:
            if fault.delay > 0:
                await asyncio.sleep(fault.delay)
            error = fault.error()
            if error is not None:
                raise error
        params = Params(raw)
        if name == "getupdates":
            result: Any = await hub.get_updates(bot, params)
        else:
            result = ALL_METHODS[name](world, bot, params)
        body: JSON = {"ok": True, "result": result}
        status = 200
    except ApiError as exc:
        body, status = exc.to_json(), exc.code
    world.log_call(bot.id, method, decoded(raw), status, body.get("description"))
    return _reply(body, status)


async def file_download(request: Request) -> Response:
    """A stored file's bytes by the file_path getFile gave; 404 for other bots' files and unknown paths."""
    world = request.app.state.hub.world
    try:
        bot = world.bot_for_token(request.path_params["token"])
    except ApiError as exc:
        return _reply(exc.to_json(), exc.code)
    stored = world.file_by_path(request.path_params["path"])
    if stored is None or stored.data is None or stored.bot_id not in (None, bot.id):
        return _reply(ApiError(404, "Not Found").to_json(), 404)
    return Response(stored.data, media_type=stored.media_type)


def routes() -> list[Route]:
    return [
        Route("/bot{token}/{method}", bot_method, methods=["GET", "POST"]),
        Route("/file/bot{token}/{path:path}", file_download, methods=["GET"]),
    ]
