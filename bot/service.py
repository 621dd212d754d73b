"""`gridbot run`: the long-running service (Telegram and/or WeCom, HTTP listener), optionally on the sandbox."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta

import uvicorn
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount

from bot import telegram_convert
from bot.bootstrap import build_app
from bot.ops import Probe, database_probe, ops_routes, sync_probe
from bot.outbox_claims import Claims
from bot.sandbox import SandboxClient, SandboxServer
from bot.telegram_channel import TelegramChannel
from bot.web.app import Board
from bot.wecom_channel import WecomChannel
from bot.wecom_sandbox_link import WecomSandbox, point_callbacks, start_wecom_sandbox
from bot.workers import DatabaseWorkers
from config.settings import Settings, SettingsError
from handlers.commands import web_login
from handlers.types import Queued
from scheduler.jobs import PeriodicSweeps
from scheduler.leader import LeaderLock, Leadership
from scheduler.notice_schedule import NoticeScheduler
from sensitive_words import SensitiveWordEngine

log = logging.getLogger(__name__)
SANDBOX_TOKEN = "7000000001:sandbox-token-not-secret"
SANDBOX_BOT_USERNAME = "gridbot_sandbox_bot"


@dataclass
class Running:
    """What a started service exposes to its caller (the demo and the tests drive it through this)."""

    telegram: TelegramChannel | None
    http_port: int
    sandbox_url: str | None
    leadership: Leadership | None = None
    board: Board | None = None  # the dashboard (工作看板), unless GRIDBOT_WEB__ENABLED=false
    wecom: WecomChannel | None = None
    wecom_sandbox: WecomSandbox | None = None

    @property
    def channel(self) -> TelegramChannel:
        """The Telegram channel (the sandbox always has one)."""
        if self.telegram is None:
            raise RuntimeError("Telegram is not configured in this service")
        return self.telegram

    @property
    def dashboard_url(self) -> str | None:
        return self.board.base_url if self.board is not None else None


class Channels:
    """The channels this process serves; outbox rows go to the channel of their platform, and rows of a
    platform not served here stay pending for a process that serves it."""

    def __init__(self, telegram: TelegramChannel | None, wecom: WecomChannel | None) -> None:
        self.telegram, self.wecom = telegram, wecom
        # What one channel's update queues may be for the other (a WeCom ticket alerting a Telegram manager).
        if telegram is not None:
            telegram.adapter.deliver = self.deliver
        if wecom is not None:
            wecom.adapter.deliver = self.deliver

    def deliver(self, queued: Sequence[Queued]) -> None:
        if self.telegram is not None:
            self.telegram.adapter.delivery.execute(
                [q for q in queued if q.action.chat.platform == telegram_convert.PLATFORM])
        if self.wecom is not None:
            self.wecom.deliver([q for q in queued if q.action.chat.platform == "wecom"])

    def routes(self) -> list[BaseRoute]:
        return [*(self.telegram.routes() if self.telegram else []), *(self.wecom.routes() if self.wecom else [])]

    async def start(self) -> None:
        if self.telegram is not None:
            await self.telegram.start()
        if self.wecom is not None:
            await self.wecom.start()

    async def stop(self) -> None:
        if self.wecom is not None:
            await self.wecom.stop()
        if self.telegram is not None:
            await self.telegram.stop()


def http_app(channels: Channels | TelegramChannel, board: Board | None = None,
             ops: Sequence[BaseRoute] = ()) -> Starlette:
    """One ASGI app: /healthz, /readyz, /metrics, the Telegram webhook, the WeCom callback, and the dashboard on
    every other path (mounted last, because it takes whatever the others leave)."""
    routes: list[BaseRoute] = [*ops, *channels.routes()]
    if board is not None:
        routes.append(Mount("", app=board.app))
    return Starlette(routes=routes)


def _probes(engine: Engine, channels: Channels, leadership: Leadership) -> list[Probe]:
    def scheduler() -> tuple[bool, str]:
        return leadership.leading, "leader" if leadership.leading else "follower"

    probes = [database_probe(engine)]
    if channels.telegram is not None:
        probes.append(sync_probe("telegram", channels.telegram.connection))
    if channels.wecom is not None:
        probes.append(sync_probe("wecom", channels.wecom.connection))
    return [*probes, sync_probe("scheduler", scheduler, required=False)]


def public_base(settings: Settings, port: int) -> str:
    """Where staff open the dashboard: GRIDBOT_HTTP__PUBLIC_URL, else the listener's own address."""
    if settings.http.public_url:
        return settings.http.public_url.rstrip("/")
    host = settings.http.host if settings.http.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


async def start_sandbox(port: int = 0) -> tuple[SandboxServer, str]:
    server = SandboxServer()
    base = await server.start(host="127.0.0.1", port=port)
    async with SandboxClient(base) as control:
        await control.add_bot(token=SANDBOX_TOKEN, username=SANDBOX_BOT_USERNAME, first_name="供电所数字助手")
    return server, base


async def serve(settings: Settings, *, sandbox: bool = False, sandbox_port: int = 0,
                on_ready: Callable[[Running], Awaitable[None]] | None = None,
                stop: asyncio.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set), then shut down gracefully."""
    app = build_app(settings)
    sandbox_server, sandbox_url, wecom_sandbox = None, None, None
    if sandbox:
        sandbox_server, sandbox_url = await start_sandbox(sandbox_port)
        token: str | None = SANDBOX_TOKEN
        base_url = f"{sandbox_url}/bot"
        wecom_sandbox = WecomSandbox()
        settings = settings.model_copy(update={"wecom": await start_wecom_sandbox(wecom_sandbox, settings.wecom)})
    else:
        token = settings.telegram.token.get_secret_value() if settings.telegram.token else None
        base_url = settings.telegram.base_url
        if token is None and not settings.wecom.corp_id:
            raise SettingsError("GRIDBOT_TELEGRAM__TOKEN: expected the bot token from BotFather, or the WeCom "
                                "settings (GRIDBOT_WECOM__CORP_ID …), or try `gridbot run --sandbox`")
    if token is not None:
        _check_webhook_settings(settings)
    workers = DatabaseWorkers.for_engine(app.engine)
    # On PostgreSQL other gridbot processes may dispatch from the same outbox; SQLite has this one only.
    claims = Claims(shared=app.engine.dialect.name == "postgresql")
    channels = Channels(
        TelegramChannel(app.ctx, token, base_url, settings.telegram, workers, claims=claims) if token else None,
        WecomChannel(app.ctx, settings.wecom, workers, claims=claims) if settings.wecom.corp_id else None)
    deliver = channels.deliver
    board = Board(app.ctx, settings.web, base_url="", language=settings.language, deliver=deliver,
                  run_in_db=workers.run) if settings.web.enabled else None
    sweeps = PeriodicSweeps(app.ctx, run_in_db=workers.run, deliver=deliver,
                            interval_seconds=settings.escalation.sweep_seconds)
    notices = NoticeScheduler(app.ctx, app.engine, run_in_db=workers.run, deliver=deliver,
                              reconcile_seconds=settings.escalation.sweep_seconds)
    leadership = _leadership(app.engine, sweeps, notices)
    ops = ops_routes(app.engine, _probes(app.engine, channels, leadership))
    server = _EmbeddedUvicorn(uvicorn.Config(http_app(channels, board, ops), host=settings.http.host,
                                             port=settings.http.port, log_level="warning", lifespan="off",
                                             access_log=False))
    stop = stop or asyncio.Event()
    _on_signals(stop)
    _reload_words_on_sighup(app.ctx.risk)
    http_task = asyncio.create_task(server.serve(), name="http")
    try:
        while not server.started:
            if http_task.done():
                raise SettingsError(f"GRIDBOT_HTTP__PORT: could not listen on "
                                    f"{settings.http.host}:{settings.http.port}")
            await asyncio.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        if board is not None:  # before the channel starts, so the first /login already gets a link
            board.base_url = public_base(settings, port)
            web_login.enable(app.ctx, web_login.LinkPolicy(board.base_url,
                                                           timedelta(minutes=settings.web.login_link_minutes)))
        if wecom_sandbox is not None:  # the fake WeCom calls our callback endpoint, as WeCom would
            await point_callbacks(wecom_sandbox, f"http://127.0.0.1:{port}{settings.wecom.callback_path}")
        await channels.start()
        # After the channel, so what the first sweep or phase queues is delivered at once. Only the leader
        # among the processes on this database runs the sweeps and the notice phases; the others wait for it.
        await leadership.start()
        # Everything built so far lives as long as the service: keep it out of the collector's full
        # passes, which otherwise pause the loop for tens of milliseconds (bench/pipeline.py p99).
        gc.freeze()
        if on_ready is not None:
            await on_ready(Running(channels.telegram, port, sandbox_url, leadership, board, channels.wecom,
                                   wecom_sandbox))
        await stop.wait()
    finally:
        log.info("shutting down")
        await leadership.stop()  # first: no new alerts or notices while the channel drains what is queued
        await channels.stop()
        server.should_exit = True
        await http_task
        if sandbox_server is not None:
            await sandbox_server.stop()
        if wecom_sandbox is not None:
            await wecom_sandbox.stop()
        workers.shutdown()
        app.engine.dispose()


def _leadership(engine: Engine, sweeps: PeriodicSweeps, notices: NoticeScheduler) -> Leadership:
    async def lead() -> None:
        sweeps.start()
        await notices.start()

    async def step_down() -> None:
        await sweeps.shutdown()
        await notices.shutdown()

    return Leadership(LeaderLock(engine), on_acquired=lead, on_lost=step_down)


class _EmbeddedUvicorn(uvicorn.Server):
    """uvicorn inside our loop: SIGTERM/SIGINT are ours (they stop the whole service gracefully)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _check_webhook_settings(settings: Settings) -> None:
    telegram = settings.telegram
    if telegram.mode != "webhook":
        return
    url = telegram.webhook_url or ""
    local = url.startswith(("http://127.0.0.1", "http://localhost"))  # the sandbox delivers over plain HTTP
    if not (url.startswith("https://") or local):
        raise SettingsError("GRIDBOT_TELEGRAM__WEBHOOK_URL: expected the public https:// URL of "
                            "/telegram/webhook in webhook mode")
    if telegram.token and telegram.token.get_secret_value() in url:
        raise SettingsError("GRIDBOT_TELEGRAM__WEBHOOK_URL: must not contain the bot token")
    secret = telegram.webhook_secret.get_secret_value() if telegram.webhook_secret else ""
    if len(secret) < 16 or not all(c.isalnum() or c in "_-" for c in secret):
        raise SettingsError("GRIDBOT_TELEGRAM__WEBHOOK_SECRET: expected 16-256 characters of A-Z, a-z, 0-9, _ or -")


def _reload_words_on_sighup(engine: SensitiveWordEngine | None) -> None:
    """`kill -HUP <pid>` re-reads the word lists; matching goes on with the old automaton meanwhile."""
    if engine is None:
        return

    def reload() -> None:
        try:
            engine.reload()
        except Exception as exc:  # a broken file keeps the lists in force
            log.error("sensitive-word lists not reloaded: %s", exc)
            return
        log.info("sensitive-word lists reloaded")

    with contextlib.suppress(NotImplementedError, RuntimeError, AttributeError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload)


def _on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not the main thread (tests)
            loop.add_signal_handler(sig, stop.set)
