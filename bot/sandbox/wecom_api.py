"""The fake WeCom (企业微信) server: ``/cgi-bin/...`` API + ``/control`` API in one Starlette app (uvicorn).

Point the real wechatpy client at it with ``API_BASE_URL = f"{base_url}/cgi-bin/"`` (and fetch tokens from
``{base_url}/cgi-bin/gettoken``: wechatpy hard-codes qyapi.weixin.qq.com there). Every answer is HTTP 200
JSON with ``errcode``/``errmsg`` like WeCom's, except injected HTTP faults and unknown paths (404).
Order of checks per call: count it, injected fault, JSON body, access_token, then the method itself.
The served methods and their errcodes are in bot.sandbox.wecom_ops; the control routes and their answers
in bot.sandbox.wecom_control (served here: each handler's queued callbacks are pushed, by
``deliver_pending``, before its answer returns).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import secrets
from collections.abc import Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.sandbox import wecom_control
from bot.sandbox.serving import bind, serve_on
from bot.sandbox.wecom_ops import METHODS
from bot.sandbox.wecom_records import CallbackRecord
from bot.sandbox.wecom_world import WecomError, World

JSON = dict[str, Any]


def errmsg(code: int, message: str) -> str:
    """WeCom's errmsg shape: message, hint (request id), and the errcode lookup link."""
    hint = secrets.token_hex(8)
    return f"{message}, hint: [{hint}], more info at https://open.work.weixin.qq.com/devtool/query?e={code}"


def _answer(world: World, path: str, code: int, message: str, data: JSON | None = None) -> Response:
    world.call_log.append({"seq": world.next_seq(), "path": path, "errcode": code, "time": world.now()})
    body = {"errcode": code, "errmsg": "ok" if code == 0 else errmsg(code, message), **(data or {})}
    return JSONResponse(body)


async def cgi(request: Request) -> Response:
    world: World = request.app.state.world
    path = request.path_params["path"].strip("/")
    world.calls[path] += 1
    method = METHODS.get(path)
    if method is None:
        world.call_log.append({"seq": world.next_seq(), "path": path, "http_status": 404, "time": world.now()})
        return PlainTextResponse("404 Not Found", status_code=404)
    fault = world.take_fault(path)
    if fault is not None and fault.http_status is not None:
        entry = {"seq": world.next_seq(), "path": path, "http_status": fault.http_status, "injected": True}
        world.call_log.append({**entry, "time": world.now()})
        return PlainTextResponse(f"injected HTTP {fault.http_status}", status_code=fault.http_status)
    if fault is not None and fault.errcode is not None:
        return _answer(world, path, fault.errcode, fault.errmsg or "injected fault")
    needs_token, handler = method
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
        if not isinstance(body, dict):
            raise ValueError("not a JSON object")
    except (ValueError, UnicodeDecodeError):
        return _answer(world, path, 47001, "data format error")  # 47001: 数据格式错误 (choice)
    try:
        if needs_token:
            world.check_token(request.query_params.get("access_token"))
        data = handler(world, request.query_params, body)
    except WecomError as exc:
        return _answer(world, path, exc.errcode, exc.errmsg)
    return _answer(world, path, 0, "ok", data)


async def deliver_pending(state: State) -> list[CallbackRecord]:
    """Push every queued callback to the target (skipping dropped ones); records what each delivery got."""
    world: World = state.world
    records = world.take_pending()
    for record in records:
        if record.dropped:
            continue
        if world.callback is None:
            record.note = "no callback target"
            continue
        async with wecom_control.pusher(state, world.callback) as pusher:  # closes its own httpx client only
            deliveries = await pusher.push(record.xml, repeat=record.repeat)
        record.deliveries, record.note = [d.view() for d in deliveries], "delivered"
    return records


def _fail(code: int, description: str) -> Response:
    return JSONResponse({"ok": False, "error_code": code, "description": description}, status_code=code)


def _endpoint(handler: wecom_control.Handler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        state: State = request.app.state
        args = wecom_control.Args(request.query_params)
        try:
            raw = await request.body()
            data = json.loads(raw) if raw.strip() else {}
            if not isinstance(data, dict):
                raise ValueError("control request body must be a JSON object")
            args.update(data)
            args.update(request.path_params)
            result = handler(state, args)
            if inspect.isawaitable(result):
                result = await result
        except KeyError as exc:
            state.world.take_pending()
            return _fail(404, f"Not found: {exc.args[0] if exc.args else exc}")
        except (TypeError, ValueError) as exc:
            state.world.take_pending()
            return _fail(400, f"Bad control request: {type(exc).__name__}: {exc}")
        records = await deliver_pending(state)
        if records and isinstance(result, dict):
            result = {**result, "callbacks": [r.view() for r in records]}
        return JSONResponse({"ok": True, "result": result})

    return endpoint


def control_routes() -> list[Route]:
    return [Route("/control" + path, _endpoint(h), methods=[verb]) for verb, path, h in wecom_control.ROUTES]


def build_app(world: World) -> Starlette:
    routes = [Route("/cgi-bin/{path:path}", cgi, methods=["GET", "POST"]), *control_routes()]
    app = Starlette(routes=routes)
    app.state.world = world
    app.state.http = None  # the callback pusher's httpx client, opened by WecomSandbox.start
    return app


class _Uvicorn(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # embedded in someone else's process: their Ctrl-C handling must keep working


class WecomSandbox:
    """A fake qyapi.weixin.qq.com on 127.0.0.1; ``await start()`` returns its base URL."""

    def __init__(self, world: World | None = None, callback_timeout: float = 5.0) -> None:
        self.world = world or World()
        self.callback_timeout = callback_timeout
        self.base_url = ""
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None
        self._http: httpx.AsyncClient | None = None

    @property
    def api_base_url(self) -> str:
        """wechatpy's ``API_BASE_URL`` (the endpoint paths are appended)."""
        return f"{self.base_url}/cgi-bin/"

    @property
    def token_url(self) -> str:
        return f"{self.base_url}/cgi-bin/gettoken"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}/control"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._task is not None:
            raise RuntimeError("WeCom sandbox already started")
        sock = bind(host, port)
        app = build_app(self.world)
        self._http = app.state.http = httpx.AsyncClient(timeout=self.callback_timeout)
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=2)
        self._server = _Uvicorn(config)
        self._task, self.base_url = await serve_on(self._server, sock, "WeCom sandbox")
        return self.base_url

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await self._task
        finally:
            self._server = self._task = None
            if self._http is not None:
                await self._http.aclose()
                self._http = None

    async def __aenter__(self) -> WecomSandbox:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
