"""`gridbot run`: the long-running service (Telegram channel + HTTP listener), optionally on the sandbox."""

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
from bot.sandbox import SandboxClient, SandboxServer
from bot.telegram_channel import TelegramChannel
from bot.telegram_delivery import Claims
from bot.web.app import Board
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

    channel: TelegramChannel
    http_port: int
    sandbox_url: str | None
    leadership: Leadership | None = None
    board: Board | None = None  # the dashboard (工作看板), unless GRIDBOT_WEB__ENABLED=false

    @property
    def dashboard_url(self) -> str | None:
        return self.board.base_url if self.board is not None else None


def http_app(channel: TelegramChannel, board: Board | None = None, ops: Sequence[BaseRoute] = ()) -> Starlette:
    """One ASGI app: /healthz, /readyz, /metrics, the Telegram webhook, and the dashboard on every other path
    (mounted last, because it takes whatever the others leave)."""
    routes: list[BaseRoute] = [*ops, *channel.routes()]
    if board is not None:
        routes.append(Mount("", app=board.app))
    return Starlette(routes=routes)


def _probes(engine: Engine, channel: TelegramChannel, leadership: Leadership) -> list[Probe]:
    def scheduler() -> tuple[bool, str]:
        return leadership.leading, "leader" if leadership.leading else "follower"

    return [database_probe(engine), sync_probe("telegram", channel.connection),
            sync_probe("scheduler", scheduler, required=False)]


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
    sandbox_server, sandbox_url = None, None
    if sandbox:
        sandbox_server, sandbox_url = await start_sandbox(sandbox_port)
        token, base_url = SANDBOX_TOKEN, f"{sandbox_url}/bot"
    elif settings.telegram.token is None:
        raise SettingsError("GRIDBOT_TELEGRAM__TOKEN: expected the bot token from BotFather "
                            "(or try `gridbot run --sandbox`)")
    else:
        token, base_url = settings.telegram.token.get_secret_value(), settings.telegram.base_url
    _check_webhook_settings(settings)
    workers = DatabaseWorkers.for_engine(app.engine)
    # On PostgreSQL other gridbot processes may dispatch from the same outbox; SQLite has this one only.
    claims = Claims(shared=app.engine.dialect.name == "postgresql")
    channel = TelegramChannel(app.ctx, token, base_url, settings.telegram, workers, claims=claims)
    deliver = _telegram_only(channel)
    board = Board(app.ctx, settings.web, base_url="", language=settings.language, deliver=deliver,
                  run_in_db=workers.run) if settings.web.enabled else None
    sweeps = PeriodicSweeps(app.ctx, run_in_db=workers.run, deliver=deliver,
                            interval_seconds=settings.escalation.sweep_seconds)
    notices = NoticeScheduler(app.ctx, app.engine, run_in_db=workers.run, deliver=deliver,
                              reconcile_seconds=settings.escalation.sweep_seconds)
    leadership = _leadership(app.engine, sweeps, notices)
    ops = ops_routes(app.engine, _probes(app.engine, channel, leadership))
    server = _EmbeddedUvicorn(uvicorn.Config(http_app(channel, board, ops), host=settings.http.host,
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
        await channel.start()
        # After the channel, so what the first sweep or phase queues is delivered at once. Only the leader
        # among the processes on this database runs the sweeps and the notice phases; the others wait for it.
        await leadership.start()
        # Everything built so far lives as long as the service: keep it out of the collector's full
        # passes, which otherwise pause the loop for tens of milliseconds (bench/pipeline.py p99).
        gc.freeze()
        if on_ready is not None:
            await on_ready(Running(channel, port, sandbox_url, leadership, board))
        await stop.wait()
    finally:
        log.info("shutting down")
        await leadership.stop()  # first: no new alerts or notices while the channel drains what is queued
        await channel.stop()
        server.should_exit = True
        await http_task
        if sandbox_server is not None:
            await sandbox_server.stop()
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


def _telegram_only(channel: TelegramChannel) -> Callable[[Sequence[Queued]], None]:
    """Alerts for chats of other platforms stay pending in the outbox for their own channel."""

    def deliver(queued: Sequence[Queued]) -> None:
        channel.adapter.delivery.execute([q for q in queued if q.action.chat.platform == telegram_convert.PLATFORM])

    return deliver


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
