"""The service's health endpoints: /healthz (the process answers), /readyz (it can do its work) and /metrics.

/readyz runs each probe with a time limit and answers 200 only when all pass, 503 otherwise, with a JSON
body naming each check, so a load balancer stops sending webhooks to an instance that lost its database.
The scheduler's leadership is reported but never fails readiness: a follower is a healthy instance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.metrics import registry_with

PROBE_TIMEOUT = 2.0
Check = Callable[[], Awaitable[tuple[bool, str]]]


@dataclass(frozen=True, slots=True)
class Probe:
    name: str
    check: Check
    required: bool = True  # False: reported, never fails readiness


def database_probe(engine: Engine) -> Probe:
    def ping() -> tuple[bool, str]:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True, engine.dialect.name

    async def check() -> tuple[bool, str]:
        return await asyncio.to_thread(ping)

    return Probe("database", check)


def sync_probe(name: str, read: Callable[[], tuple[bool, str]], *, required: bool = True) -> Probe:
    async def check() -> tuple[bool, str]:
        return read()

    return Probe(name, check, required)


async def _run(probe: Probe) -> tuple[bool, str]:
    try:
        return await asyncio.wait_for(probe.check(), PROBE_TIMEOUT)
    except TimeoutError:
        return False, f"no answer within {PROBE_TIMEOUT:.0f} s"
    except Exception as exc:  # the probe's failure is the answer, not a 500
        return False, f"{type(exc).__name__}: {exc}"[:300]


def ops_routes(engine: Engine, probes: Sequence[Probe]) -> list[Route]:
    registry = registry_with(engine)

    async def healthz(_: Request) -> Response:
        return JSONResponse({"ok": True})

    async def readyz(_: Request) -> Response:
        results = await asyncio.gather(*(_run(probe) for probe in probes))
        checks = {probe.name: {"ok": ok, "detail": detail, "required": probe.required}
                  for probe, (ok, detail) in zip(probes, results, strict=True)}
        ready = all(ok for probe, (ok, _) in zip(probes, results, strict=True) if probe.required)
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        body = await asyncio.to_thread(generate_latest, registry)  # the database figures are read here
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [Route("/healthz", healthz), Route("/readyz", readyz), Route("/metrics", metrics)]
