"""Dashboard sign-in: password hashes, random tokens, and a brake on password guessing.

Passwords are hashed with scrypt (hashlib, OpenSSL) and a random salt per password; the parameters are
stored with the hash, so they can be raised later without invalidating old ones. Comparison is in constant
time, and an unknown name costs the same scrypt run as a wrong password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections import deque

SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_BYTES = 2**14, 8, 1, 32
MIN_PASSWORD_CHARS = 8
_DUMMY = "scrypt$16384$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="


class Raw(str):
    """A random token made by the server (CSRF, form nonce): rendered as it is, never masked."""

    __slots__ = ()


def new_token(nbytes: int = 32) -> Raw:
    return Raw(secrets.token_urlsafe(nbytes))


def same(given: object, expected: str) -> bool:
    """Constant-time comparison of a submitted token with the expected one; a missing token never matches."""
    return isinstance(given, str) and bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES, maxmem=64 * 1024 * 1024)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    key = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; a missing or malformed hash is checked against a dummy."""
    parts = (stored or _DUMMY).split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        parts = _DUMMY.split("$")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = base64.b64decode(parts[4]), base64.b64decode(parts[5])
        key = _scrypt(password, salt, n, r, p)
    except (ValueError, MemoryError):
        return False
    return hmac.compare_digest(key, expected) and stored is not None


class Throttle:
    """At most `attempts` failed sign-ins per name within `window` seconds (in memory, per process)."""

    def __init__(self, attempts: int = 5, window: float = 15 * 60) -> None:
        self.attempts, self.window = attempts, window
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, who: str) -> deque[float]:
        failures = self._failures.setdefault(who.casefold(), deque())
        while failures and failures[0] < time.monotonic() - self.window:
            failures.popleft()
        return failures

    def blocked(self, who: str) -> bool:
        return len(self._recent(who)) >= self.attempts

    def failed(self, who: str) -> None:
        if len(self._failures) > 10_000:  # a flood of made-up names must not grow this without bound
            self._failures.clear()
        self._recent(who).append(time.monotonic())

    def succeeded(self, who: str) -> None:
        self._failures.pop(who.casefold(), None)
