"""Logging set-up: every line passes through the privacy mask, carries the update, chat and ticket it is
about (when known), and is plain text or one JSON object per line; chatty libraries are quietened.

The update, chat and ticket travel in a context variable set by the edge (`log_context`), so the core's
own log lines carry them too: the database workers run each call in a copy of the caller's context.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

from handlers.privacy import mask_text

FIELDS = ("update", "chat", "ticket")
_context: ContextVar[dict[str, str]] = ContextVar("gridbot_log_context", default={})  # noqa: B039 (never mutated)


@contextlib.contextmanager
def log_context(**values: object) -> Iterator[None]:
    """Lines logged inside carry these fields (None values are left out); nesting adds to the outer ones."""
    merged = {**_context.get(), **{k: str(v) for k, v in values.items() if v is not None}}
    token = _context.set(merged)
    try:
        yield
    finally:
        _context.reset(token)


def add_to_log_context(**values: object) -> None:
    """Add fields for the rest of the current context (e.g. the ticket number once it is known)."""
    _context.set({**_context.get(), **{k: str(v) for k, v in values.items() if v is not None}})


class MaskPersonalData(logging.Filter):
    """Masks mobile and ID numbers in the final message, whatever code logged it; adds the context fields."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        fields = _context.get()
        for name in FIELDS:
            setattr(record, name, fields.get(name, ""))
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        tags = " ".join(f"{name}={value}" for name in FIELDS if (value := getattr(record, name, "")))
        return f"{line} [{tags}]" if tags else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for a log collector: time, level, logger, message and the context fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        entry.update({name: value for name in FIELDS if (value := getattr(record, name, ""))})
        if record.exc_info:
            entry["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def configure(level: int, *, as_json: bool = False) -> None:
    logging.basicConfig(level=level)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
        if not any(isinstance(f, MaskPersonalData) for f in handler.filters):
            handler.addFilter(MaskPersonalData())
    # httpx logs request URLs, which carry the bot token: keep it at WARNING.
    for noisy in ("httpx", "httpcore", "telegram.ext", "uvicorn", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
