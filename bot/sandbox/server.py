"""The sandbox HTTP server: Bot API + control API in one Starlette app, served by uvicorn.

``SandboxServer`` runs inside the caller's event loop (tests, demo, benchmark);
``run_sandbox`` blocks and serves until Ctrl-C (for ``gridbot sandbox --port P``).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from bot.sandbox import botapi, control
from bot.sandbox.delivery import Hub
from bot.sandbox.serving import bind, serve_on
from bot.sandbox.world import World


def build_app(hub: Hub) -> Starlette:
    app = Starlette(routes=[*botapi.routes(), *control.routes()])
    app.state.hub = hub
    return app


class _Uvicorn(uvicorn.Server):
    """Releases long-polls and webhook senders before uvicorn waits for open connections to finish."""

    def __init__(self, config: uvicorn.Config, hub: Hub, embedded: bool) -> None:
        super().__init__(config)
        self.hub, self.embedded = hub, embedded

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # Embedded in someone else's process: their Ctrl-C handling must keep working.
        if self.embedded:
            yield
            return
        with super().capture_signals():
            yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.hub.close()
        await super().shutdown(sockets)


def _config(app: Starlette, log_level: str, host: str = "127.0.0.1", port: int = 0) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=2,
    )


class SandboxServer:
    """A fake api.telegram.org on 127.0.0.1; ``await start()`` returns its base URL."""

    def __init__(
        self, world: World | None = None, webhook_attempts: int = 6, webhook_backoff: float = 0.05
    ) -> None:
        self.world = world or World()
        self.webhook_attempts, self.webhook_backoff = webhook_attempts, webhook_backoff
        self.base_url = ""
        self.hub: Hub | None = None
        self._server: _Uvicorn | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def bot_api_url(self) -> str:
        """Pass as ``base_url`` to telegram.Bot / ApplicationBuilder (the token is appended)."""
        return f"{self.base_url}/bot"

    @property
    def file_url(self) -> str:
        return f"{self.base_url}/file/bot"

    @property
    def control_url(self) -> str:
        return f"{self.base_url}/control"

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        if self._task is not None:
            raise RuntimeError("sandbox already started")
        sock = bind(host, port)
        self.hub = Hub(self.world, self.webhook_attempts, self.webhook_backoff)
        self._server = _Uvicorn(_config(build_app(self.hub), "warning"), self.hub, embedded=True)
        self._task, self.base_url = await serve_on(self._server, sock, "sandbox server")
        return self.base_url

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        try:
            await self._task
        finally:
            self._server = self._task = None

    async def __aenter__(self) -> SandboxServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


def run_sandbox(host: str = "127.0.0.1", port: int = 8081, log_level: str = "info") -> None:
    """Serve the sandbox until interrupted (blocking)."""
    hub = Hub(World())
    config = _config(build_app(hub), log_level, host, port)
    print(
        f"Telegram sandbox: Bot API base_url http://{host}:{port}/bot  control http://{host}:{port}/control"
    )
    _Uvicorn(config, hub, embedded=False).run()
