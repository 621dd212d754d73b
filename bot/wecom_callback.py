"""The WeCom callback endpoint: verify, decrypt, store, acknowledge; the work happens after the answer.

WeCom wants an answer within 5 seconds and retries 3 times; events can repeat. So a request is checked
(size, no DTD, signature in constant time, our corp id inside the ciphertext), stored in the `wecom_callback`
inbox under a key that makes retries no-ops, answered, and only then handed to the adapter. A crash after the
answer leaves the row unprocessed; the adapter picks it up at the next start or sweep. A forged or malformed
request is refused with a 4xx and a log line, and nothing is stored.

URL verification (GET with echostr) is answered from the same checks, without touching the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy.enterprise.crypto import PrpCrypto

from config.settings import WecomSettings
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)
Fields = dict[str, Any]


class Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status, self.reason = status, reason


def parse_xml(text: str) -> Fields:
    """WeCom's flat XML as a dict; a child with children (MemChangeList/Item) becomes a list of texts.
    Any DTD is refused before parsing: no entity expansion (billion laughs), no external entities."""
    if "<!DOCTYPE" in text.upper() or "<!ENTITY" in text.upper():
        raise Refused(400, "XML with a DTD")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        raise Refused(400, f"not XML: {exc}") from exc
    return {child.tag: [item.text or "" for item in child] if len(child) else (child.text or "") for child in root}


def signature(token: str, timestamp: str, nonce: str, encrypted: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce, encrypted])).encode()).hexdigest()


@dataclass(frozen=True)
class CallbackCrypto:
    token: str
    aes_key: str
    corp_id: str

    @classmethod
    def of(cls, settings: WecomSettings) -> CallbackCrypto:
        token = settings.token.get_secret_value() if settings.token else ""
        key = settings.aes_key.get_secret_value() if settings.aes_key else ""
        return cls(token, key, settings.corp_id)

    def open(self, query: dict[str, str], encrypted: str) -> str:
        """The plaintext of a signed ciphertext meant for our corp, or Refused."""
        for name in ("msg_signature", "timestamp", "nonce"):
            if not query.get(name):
                raise Refused(400, f"missing {name}")
        expected = signature(self.token, query["timestamp"], query["nonce"], encrypted)
        if not hmac.compare_digest(expected, query["msg_signature"]):
            raise Refused(403, "bad signature")
        try:
            plain = PrpCrypto(base64.b64decode(self.aes_key + "=")).decrypt(encrypted, self.corp_id)
        except Exception as exc:  # wrong corp id (InvalidCorpIdException), bad padding, bad base64
            raise Refused(403, f"cannot decrypt for this corp: {exc.__class__.__name__}") from exc
        return str(plain.decode() if isinstance(plain, bytes) else plain)


def callback_key(fields: Fields, plaintext: str) -> str:
    """What makes a retry the same callback: WeCom's MsgId, else the decrypted body itself."""
    if fields.get("MsgId"):
        return f"msg:{fields['MsgId']}"
    return f"evt:{hashlib.sha1(plaintext.encode()).hexdigest()}"


def callback_kind(fields: Fields) -> str:
    return str(fields.get("Event") or fields.get("MsgType") or "unknown")


Stored = Callable[[int], None]  # told the inbox row id once the answer is on its way


class CallbackEndpoint:
    def __init__(self, settings: WecomSettings, uow: Callable[[], UnitOfWork],
                 run_in_db: Callable[..., Awaitable[Any]], on_stored: Stored) -> None:
        self.settings, self.uow, self.run_in_db, self.on_stored = settings, uow, run_in_db, on_stored
        self.crypto = CallbackCrypto.of(settings)
        self.archive_token = settings.archive_token.get_secret_value() if settings.archive_token else ""

    def routes(self) -> list[Route]:
        path = self.settings.callback_path
        routes = [Route(path, self.verify_url, methods=["GET"]), Route(path, self.receive, methods=["POST"])]
        if self.archive_token:
            routes.append(Route(path.rsplit("/", 1)[0] + "/archive", self.archive, methods=["POST"]))
        return routes

    async def verify_url(self, request: Request) -> Response:
        query = dict(request.query_params)
        try:
            echo = self.crypto.open(query, query.get("echostr", "")) if query.get("echostr") else None
        except Refused as exc:
            return self._refuse(request, exc)
        if echo is None:
            return self._refuse(request, Refused(400, "missing echostr"))
        return PlainTextResponse(echo)

    async def receive(self, request: Request) -> Response:
        try:
            body = await self._body(request)
            outer = parse_xml(body)
            plaintext = self.crypto.open(dict(request.query_params), str(outer.get("Encrypt") or ""))
            fields = parse_xml(plaintext)
        except Refused as exc:
            return self._refuse(request, exc)
        row_id = await self.run_in_db(self._store, callback_key(fields, plaintext), callback_kind(fields), plaintext)
        if row_id is not None:
            self.on_stored(row_id)
        else:
            log.info("wecom: callback %s repeated, already stored", callback_key(fields, plaintext))
        return PlainTextResponse("success")

    async def archive(self, request: Request) -> Response:
        """Decrypted 会话内容存档 records (JSON lines, or one JSON array) from the archive reader."""
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), self.archive_token.encode()):
            return self._refuse(request, Refused(401, "bad archive token"))
        try:
            records = parse_archive(await self._body(request, limit=self.settings.max_callback_bytes * 64))
        except Refused as exc:
            return self._refuse(request, exc)
        stored = 0
        for record in records:
            row_id = await self.run_in_db(self._store, f"archive:{record['msgid']}", "archive", json.dumps(record))
            if row_id is not None:
                stored += 1
                self.on_stored(row_id)
        return Response(json.dumps({"received": len(records), "new": stored}), media_type="application/json")

    async def _body(self, request: Request, limit: int | None = None) -> str:
        limit = limit or self.settings.max_callback_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise Refused(413, f"body of {declared} bytes")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise Refused(413, "body too large")
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise Refused(400, "not UTF-8") from exc

    def _store(self, key: str, kind: str, payload: str) -> int | None:
        with self.uow() as uow:
            row = uow.wecom.store_callback(key, kind, payload, datetime.now(UTC))
            uow.commit()
            return row.id if row is not None else None

    @staticmethod
    def _refuse(request: Request, exc: Refused) -> Response:
        client = request.client.host if request.client else "?"
        log.warning("wecom: refused a request from %s to %s: %s", client, request.url.path, exc.reason)
        return PlainTextResponse(exc.reason, status_code=exc.status)


def parse_archive(text: str) -> list[Fields]:
    """Archive records: each needs a msgid; the rest is checked when it is handled."""
    stripped = text.strip()
    try:
        records = json.loads(stripped) if stripped.startswith("[") else [
            json.loads(line) for line in stripped.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise Refused(400, f"not JSON: line {exc.lineno}") from exc
    for number, record in enumerate(records, 1):
        if not isinstance(record, dict) or not str(record.get("msgid") or ""):
            raise Refused(400, f"record {number}: expected an object with a msgid")
    return records
