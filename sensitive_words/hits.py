"""What a check returns: levels and hits."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    """What to do with a hit: ``block`` (remove), ``review`` (a person looks), ``log`` (record only)."""

    BLOCK = "block"
    REVIEW = "review"
    LOG = "log"

    @property
    def rank(self) -> int:
        """Severity, higher is stronger: block 3, review 2, log 1."""
        return _RANK[self]


_RANK = {Level.BLOCK: 3, Level.REVIEW: 2, Level.LOG: 1}


@dataclass(frozen=True, slots=True)
class Hit:
    """One occurrence of a listed word or of a detector's pattern.

    ``start``/``end`` index the original text and ``text == original[start:end]``, noise inside
    the match included.
    """

    word: str
    category: str
    level: Level
    start: int
    end: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["level"] = str(self.level)
        return out
