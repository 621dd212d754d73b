"""/healthz, /readyz and /metrics as an operator sees them, and log lines that say what they are about."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path

import httpx
from sqlalchemy.engine import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from bot.logs import JsonFormatter, MaskPersonalData, TextFormatter, add_to_log_context, log_context
from bot.metrics import HANDLING_SECONDS, SEND_ERRORS, UPDATES_RECEIVED
from bot.ops import Probe, database_probe, ops_routes, sync_probe
from bot.workers import DatabaseWorkers
from handlers.context import Context
from handlers.router import handle
from storage.db import make_engine
from tests.bot.live import WANG, live_gridbot, prepared_settings
from tests.handlers.helpers import message


def client(engine: Engine, *probes: Probe) -> TestClient:
    return TestClient(Starlette(routes=ops_routes(engine, [database_probe(engine), *probes])))


def test_ready_when_the_database_answers_and_not_when_it_is_gone(engine: Engine) -> None:
    leader = sync_probe("scheduler", lambda: (False, "follower"), required=False)
    with client(engine, leader) as web:
        assert web.get("/healthz").json() == {"ok": True}
        ready = web.get("/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        assert ready.json()["checks"]["scheduler"] == {"ok": False, "detail": "follower", "required": False}
    gone = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=1")  # nothing listens
    with client(gone) as web:
        answer = web.get("/readyz")
        assert answer.status_code == 503 and answer.json()["checks"]["database"]["ok"] is False
        assert "gridbot_database_up 0.0" in web.get("/metrics").text  # a scrape still answers


def test_a_platform_that_cannot_be_reached_or_a_probe_that_hangs_fails_readiness(engine: Engine) -> None:
    async def hangs() -> tuple[bool, str]:
        await asyncio.sleep(30)
        return True, ""

    with client(engine, sync_probe("telegram", lambda: (False, "not polling")), Probe("slow", hangs)) as web:
        answer = web.get("/readyz")
    checks = answer.json()["checks"]
    assert answer.status_code == 503
    assert checks["telegram"]["detail"] == "not polling" and "no answer within 2 s" in checks["slow"]["detail"]


def test_metrics_count_tickets_by_kind_the_backlog_and_risk_events(ctx: Context, engine: Engine) -> None:
    handle(message("我家停电了"), ctx)
    handle(message("电费怎么交", user="502"), ctx)
    handle(message("专业代开发票", user="503"), ctx)
    UPDATES_RECEIVED.labels("telegram").inc()
    SEND_ERRORS.labels("telegram", "retried").inc()
    HANDLING_SECONDS.labels("telegram").observe(0.03)
    with client(engine) as web:
        text = web.get("/metrics").text
    assert 'gridbot_tickets_opened_total{kind="repair"} 1.0' in text
    assert 'gridbot_tickets_opened_total{kind="inquiry"} 1.0' in text
    assert 'gridbot_risk_events_total{level="block"} 1.0' in text
    assert 'gridbot_outbox_backlog{platform="telegram"}' in text  # the replies wait: no dispatcher here
    assert 'gridbot_updates_received_total{platform="telegram"}' in text
    assert 'gridbot_outbox_send_errors_total{kind="retried",platform="telegram"}' in text
    assert "gridbot_update_handling_seconds_bucket" in text
    assert "13812345678" not in text


def logger_to(stream: io.StringIO, *, as_json: bool) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    handler.addFilter(MaskPersonalData())
    logger = logging.getLogger(f"gridbot.test.{as_json}")
    logger.handlers, logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    return logger


async def test_every_line_carries_the_update_chat_and_ticket_even_from_the_database_workers() -> None:
    stream = io.StringIO()
    logger = logger_to(stream, as_json=True)
    workers = DatabaseWorkers(1)
    try:
        with log_context(update=42, chat=-1001):
            logger.info("received")
            await workers.run(logger.info, "handled in a worker for %s", "13812345678")
            add_to_log_context(ticket=7)
            logger.info("replied")
        logger.info("outside")
    finally:
        workers.shutdown()
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(e.get("update"), e.get("chat"), e.get("ticket")) for e in lines] == [
        ("42", "-1001", None), ("42", "-1001", None), ("42", "-1001", "7"), (None, None, None)]
    assert lines[1]["msg"] == "handled in a worker for 138****5678" and lines[0]["level"] == "INFO"


def test_text_lines_name_the_fields_only_when_known() -> None:
    stream = io.StringIO()
    logger = logger_to(stream, as_json=False)
    with log_context(update=5, chat=None):
        logger.warning("slow")
    logger.warning("plain")
    first, second = stream.getvalue().splitlines()
    assert first.endswith("slow [update=5]") and second.endswith("plain")


async def test_the_running_service_is_ready_and_counts_what_it_handles(tmp_path: Path) -> None:
    settings = prepared_settings(tmp_path)
    async with live_gridbot(settings) as live:
        base = f"http://127.0.0.1:{live.running.http_port}"
        async with httpx.AsyncClient(base_url=base) as web:
            ready = (await web.get("/readyz")).json()
            for _ in range(100):  # the first getUpdates has to answer before Telegram counts as reachable
                if ready["ready"]:
                    break
                await asyncio.sleep(0.05)
                ready = (await web.get("/readyz")).json()
            assert ready["ready"] and ready["checks"]["telegram"]["detail"] == "polling"
            assert ready["checks"]["scheduler"]["detail"] == "leader"
            await live.say(live.group, WANG, "家里停电了")
            await live.wait_text(live.group, "工单号 1")
            metrics = (await web.get("/metrics")).text
            assert 'gridbot_tickets_opened_total{kind="repair"} 1.0' in metrics
            assert 'gridbot_updates_handled_total{platform="telegram",result="handled"}' in metrics
            assert (await web.get("/healthz")).json() == {"ok": True}
