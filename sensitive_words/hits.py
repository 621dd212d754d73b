"""What a check returns: levels and hits."""

from __future__ import annotations

from collections.abc import Callable
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


def _fast_factory() -> Callable[[str, str, Level, int, int, str], Hit]:
    """``Hit(...)`` without the dataclass ``__init__`` (which calls ``object.__setattr__`` per field):
    the slots are filled through their descriptors, about twice as fast in the matcher's inner loop."""
    new = object.__new__
    set_word, set_category, set_level, set_start, set_end, set_text = (
        getattr(Hit, name).__set__ for name in ("word", "category", "level", "start", "end", "text")
    )

    def make(word: str, category: str, level: Level, start: int, end: int, text: str) -> Hit:
        hit: Hit = new(Hit)
        set_word(hit, word)
        set_category(hit, category)
        set_level(hit, level)
        set_start(hit, start)
        set_end(hit, end)
        set_text(hit, text)
        return hit

    return make


make_hit = _fast_factory()
