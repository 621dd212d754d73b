"""Normalisation with a way back: fold a text for matching and map folded positions to the original.

Folding a text is done in three steps, each cheap in C and each reversible for any position:

1. ``str.translate`` with ``MATCH_TABLE`` maps one character to one character and marks noise
   with ``NOISE`` (same length as the original, so positions are unchanged);
2. the noise is removed (``str.replace``), and a lazily built table of the pieces between noise
   characters maps a position back to the original;
3. runs of one repeated character collapse to one character; the run lengths are kept, both to
   give a hit its full extent and to let a word with a doubled character (妈妈) require the run.

A matcher folds with its own table (``alphabet_table``), where every character that occurs in none
of its keys becomes one stand-in: the automaton then reads one byte for it instead of three, and its
runs need no collapsing.

A word is folded the same way (``fold_word``), giving its folded key and the run length each key
character needs at least.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from functools import cache
from itertools import accumulate

from sensitive_words.charmap import ASTRAL_NOISE, DETECT_TABLE, MATCH_TABLE, NOISE

#: Stand-ins a matcher's own table may use for characters in none of its keys: OTHER for any such
#: character, OTHER_ALNUM for an ASCII letter or digit (which still bounds ASCII words). A stretch of
#: them collapses like any run (nothing can match inside it anyway).
OTHER = "\x01"
OTHER_ALNUM = "\x02"
_REPEAT = re.compile(r"(.)\1", re.S)
_RUNS = re.compile(r"(.)\1+", re.S)


def normalise(text: str) -> str:
    """One-to-one normalisation (noise kept): ``len(normalise(t)) == len(t)``."""
    return text.translate(DETECT_TABLE)


def fold_word(word: str) -> tuple[str, tuple[int, ...]]:
    """The folded key of a list entry and the minimum run length of each of its characters."""
    marked = ASTRAL_NOISE.sub(NOISE, word.translate(MATCH_TABLE))
    chars: list[str] = []
    counts: list[int] = []
    for ch in marked:
        if ch == NOISE:
            continue
        if chars and chars[-1] == ch:
            counts[-1] += 1
        else:
            chars.append(ch)
            counts.append(1)
    return "".join(chars), tuple(counts)


@cache
def _other_table() -> tuple[list[int], dict[int, list[int]]]:
    """MATCH_TABLE with every non-noise character as a stand-in, and the sources of each target."""
    other, other_alnum = ord(OTHER), ord(OTHER_ALNUM)
    base: list[int] = []
    sources: dict[int, list[int]] = {}
    for cp, target in enumerate(MATCH_TABLE):
        if target == 0:
            base.append(0)
            continue
        base.append(other_alnum if 0x30 <= target <= 0x39 or 0x61 <= target <= 0x7A else other)
        sources.setdefault(target, []).append(cp)
    return base, sources


def alphabet_table(alphabet: Iterable[str]) -> list[int]:
    """``MATCH_TABLE`` narrowed to the characters of a matcher's keys: every other character becomes
    OTHER (or OTHER_ALNUM for an ASCII letter or digit), one byte instead of three for the automaton."""
    base, sources = _other_table()
    table = base.copy()
    for ch in set(alphabet):
        cp = ord(ch)
        for src in sources.get(cp, ()):
            table[src] = cp
    return table


class Folded:
    """A text folded for matching, with the maps back to the original.

    ``text`` is the folded text, ``data`` its UTF-8 bytes and ``latin`` those bytes read as latin-1
    (the automaton's input). The maps are built only when needed: ``plain`` texts (no noise, no
    runs) map position ``j`` to ``j``.
    """

    __slots__ = (
        "_c1",
        "_c1_starts",
        "_marked",
        "_run_after",
        "_run_before",
        "_run_pos",
        "data",
        "has_runs",
        "latin",
        "plain",
        "run_chars",
        "text",
    )

    def __init__(self, original: str, table: Sequence[int] = MATCH_TABLE) -> None:
        self._build(original.translate(table))

    def _build(self, marked: str) -> None:
        if NOISE in marked:
            compact = marked.replace(NOISE, "")
            self._marked: str | None = marked  # kept to map positions back through the noise
        else:
            compact = marked
            self._marked = None
        self._c1_starts: list[int] | None = None
        self._run_pos: list[int] | None = None
        if _REPEAT.search(compact) is None:
            self._c1: str | None = None
            self.run_chars: list[str] = []
            self.has_runs = False
            self.plain = self._marked is None
        else:
            # split() with the run's character captured, joined again, collapses every run in C;
            # where the runs are is worked out only if a hit needs it (_run_table)
            self._c1 = compact
            parts = _RUNS.split(compact)
            self.run_chars = parts[1::2]
            compact = "".join(parts)
            self.has_runs = True
            self.plain = False
        data = compact.encode("utf-8")
        if b"\xf3" in data or b"\xf4" in data:  # U+C0000 and above: maybe astral noise
            fixed = ASTRAL_NOISE.sub(NOISE, marked)
            if fixed != marked:
                self._build(fixed)
                return
        self.text = compact
        self.data = data
        self.latin = data.decode("latin-1")

    def _run_table(self) -> list[int]:
        """Folded position of each run; ``_run_before``/``_run_after``: characters removed before it
        and up to its end."""
        if self._run_pos is None:
            pos: list[int] = []
            before: list[int] = []
            after: list[int] = []
            removed = 0
            for m in _RUNS.finditer(self._c1 or ""):
                a, b = m.span()
                pos.append(a - removed)
                before.append(removed)
                removed += b - a - 1
                after.append(removed)
            self._run_pos, self._run_before, self._run_after = pos, before, after
        return self._run_pos

    def runs(self) -> Iterator[tuple[int, int]]:
        """Folded position and length of each run of a repeated character."""
        if self.has_runs:
            rp = self._run_table()
            for pos, before, after in zip(rp, self._run_before, self._run_after, strict=True):
                yield pos, after - before + 1

    def run_length(self, j: int) -> int:
        """How many times the folded character at ``j`` is repeated in the text (1 if not)."""
        if not self.has_runs:
            return 1
        rp = self._run_table()
        k = bisect_right(rp, j) - 1
        return self._run_after[k] - self._run_before[k] + 1 if k >= 0 and rp[k] == j else 1

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Original ``[start, end)`` of the folded characters ``first..last`` (inclusive)."""
        if self.has_runs:
            rp = self._run_table()
            # the first character of a run starts where its run starts; the last ends where it ends
            k = bisect_right(rp, first) - 1
            if k >= 0:
                first += self._run_before[k] if rp[k] == first else self._run_after[k]
            k = bisect_right(rp, last) - 1
            if k >= 0:
                last += self._run_after[k]
        marked = self._marked
        if marked is None:
            return first, last + 1
        starts = self._c1_starts
        if starts is None:  # start of each noise-free piece; piece k follows k noise characters
            starts = self._c1_starts = list(accumulate(map(len, marked.split(NOISE)), initial=0))
        return first + bisect_right(starts, first) - 1, last + bisect_right(starts, last)
