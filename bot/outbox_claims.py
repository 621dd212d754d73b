"""Who may send an outbox row now: claims and leases shared by every channel's dispatcher (Telegram, WeCom)."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass, field
from datetime import timedelta


def owner_id() -> str:
    """Who claims outbox rows: host, process and a random part (a pid is reused after a restart)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Claims:
    owner: str = field(default_factory=owner_id)
    # Another dispatcher may use the same database (PostgreSQL): claim rows before sending them.
    shared: bool = False
    # Long enough for a row queued behind a group's 20/min limit between two renewals (every outbox sweep),
    # short enough that a dead dispatcher's rows go out a couple of minutes later.
    lease: timedelta = timedelta(seconds=120)
    window: int = 200  # rows a sweep claims at a time (shared); SQLite takes up to 1000, as before claims
    renew_before: timedelta = timedelta(seconds=60)  # a row with less lease left is claimed again before sending
