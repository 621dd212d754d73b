"""Bot API request parameters from any encoding Telegram accepts, with Telegram-like coercion.

PTB 22 posts application/x-www-form-urlencoded where every non-string value is JSON-encoded
(``"123"``, ``"true"``, ``'{"inline_keyboard": ...}'``) and switches to multipart/form-data only for
uploads. Others send JSON bodies or query strings, so values may arrive typed or as strings.
An uploaded file becomes an ``Upload``: the dict ``{"file_name", "size"}`` with the bytes in ``.data``.
"""

from __future__ import annotations

import contextlib
import json
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from bot.sandbox.errors import ApiError

JSON = dict[str, Any]


class Upload(dict[str, Any]):
    """One uploaded file: ``{"file_name": ..., "size": ...}`` as a dict (what the call log shows), the raw
    bytes in ``data`` and the part's declared ``content_type``."""

    def __init__(self, file_name: str, data: bytes, content_type: str | None = None) -> None:
        super().__init__(file_name=file_name, size=len(data))
        self.data = data
        self.content_type = content_type


def parse_body(content_type: str, body: bytes, query: dict[str, str]) -> JSON:
    """Merge query string and body parameters (body wins)."""
    params: JSON = dict(query)
    kind = content_type.split(";")[0].strip().lower()
    if not body:
        return params
    if kind == "application/json":
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise ApiError(400, "Bad Request: can't parse JSON object") from exc
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request: can't parse JSON object")
        params.update(data)
    elif kind == "multipart/form-data":
        # python-multipart is not a dependency; the stdlib MIME parser handles form-data fine.
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            payload = part.get_payload(decode=True)
            raw = payload if isinstance(payload, bytes) else b""
            file_name = part.get_filename()
            if file_name:
                params[name] = Upload(file_name, raw, part.get_content_type())
            else:
                params[name] = raw.decode("utf-8", "replace")
    else:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


def decoded(params: JSON) -> JSON:
    """Params with JSON-looking strings decoded: what the call log shows to assertions (uploads as plain
    ``{"file_name", "size"}`` dicts: the log keeps no file bytes)."""
    out: JSON = {}
    for key, value in params.items():
        if isinstance(value, Upload):
            value = dict(value)
        elif isinstance(value, str) and value[:1] in ("{", "["):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[key] = value
    return out


class Params:
    """Typed access to one request's parameters."""

    def __init__(self, raw: JSON) -> None:
        self.raw = raw

    def has(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "")

    def text(self, name: str, default: str | None = None) -> str | None:
        value = self.raw.get(name)
        return default if value is None else str(value)

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return int(float(value)) if not isinstance(value, bool) else int(value)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, f"Bad Request: invalid {name} specified") from exc

    def number(self, name: str, default: float = 0.0) -> float:
        value = self.raw.get(name)
        try:
            return default if value in (None, "") else float(value)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, f"Bad Request: invalid {name} specified") from exc

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)

    def upload(self, name: str) -> Upload | None:
        """The file uploaded as ``name``, directly or through an ``attach://<part>`` reference."""
        value = self.raw.get(name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = self.raw.get(value.removeprefix("attach://"))
        return value if isinstance(value, Upload) else None

    def obj(self, name: str) -> Any:
        value = self.raw.get(name)
        if isinstance(value, str):
            if not value:
                return None
            try:
                return json.loads(value)
            except ValueError as exc:
                raise ApiError(400, f"Bad Request: can't parse {name} JSON object") from exc
        return value

    def chat_id(self, name: str = "chat_id") -> int | str:
        """Integer id or ``@username``; missing is Telegram's "chat_id is empty"."""
        value = self.raw.get(name)
        if value is None or value == "":
            raise ApiError(400, f"Bad Request: {name} is empty")
        if isinstance(value, str) and value.startswith("@"):
            return value
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "Bad Request: chat not found") from exc
