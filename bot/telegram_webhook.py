"""The webhook endpoint: the URL carries no token; every request must carry the configured secret."""

from __future__ import annotations

import hmac
import json
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Update

from bot.telegram_ingress import UpdateProcessor

log = logging.getLogger(__name__)
WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1_000_000


def webhook_route(processor: UpdateProcessor, secret: str) -> Route:
    async def receive(request: Request) -> Response:
        offered = request.headers.get(SECRET_HEADER, "")
        if not secret or not hmac.compare_digest(offered.encode(), secret.encode()):
            log.warning("webhook request without the right secret from %s refused",
                        request.client.host if request.client else "?")
            return JSONResponse({"ok": False, "error": "forbidden"}, status_code=403)
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"ok": False, "error": "too large"}, status_code=413)
        try:
            update = Update.de_json(json.loads(body), processor.application.bot)
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"ok": False, "error": f"not an update: {exc}"}, status_code=400)
        # Answer only after the effects are stored; a 5xx makes Telegram deliver it again.
        done = await processor.process(update)
        return Response(status_code=200 if done else 503)

    return Route(WEBHOOK_PATH, receive, methods=["POST"])
