"""Normalisation with a way back: fold a text for matching and map folded positions to the original.

Folding a text is done in three steps, each cheap in C and each reversible for any position:

1. ``str.translate`` with ``MATCH_TABLE`` maps one character to one character and marks noise
   with ``NOISE`` (same length as the original, so positions are unchanged);
2. the noise is removed (``str.replace``), and a lazily built table of the pieces between noise
   characters maps a position back to the original;
3. runs of one repeated character collapse to one character; the run lengths are kept, both to
   give a hit its full extent and to let a word with a doubled character (妈妈) require the run.

A word is folded the same way (``fold_word``), giving its folded key and the run length each key
character needs at least.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from itertools import accumulate

from sensitive_words.charmap import ASTRAL_NOISE, DETECT_TABLE, MATCH_TABLE, NOISE

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


class Folded:
    """A text folded for matching, with the maps back to the original."""

    __slots__ = ("_c1_starts", "_marked", "_run_before", "_run_extra", "_run_pos", "data", "latin", "text")

    def __init__(self, original: str) -> None:
        marked = original.translate(MATCH_TABLE)
        self._build(marked)
        if b"\xf3" in self.data or b"\xf4" in self.data:  # U+C0000 and above: maybe astral noise
            fixed = ASTRAL_NOISE.sub(NOISE, marked)
            if fixed != marked:
                self._build(fixed)

    def _build(self, marked: str) -> None:
        compact = marked.replace(NOISE, "") if NOISE in marked else marked
        #: the text with NOISE marks, kept only when noise was removed
        self._marked: str | None = marked if len(compact) != len(marked) else None
        self._c1_starts: list[int] | None = None
        self._run_pos: list[int] | None = None
        self._run_extra: list[int] = []
        self._run_before: list[int] = []
        first = _REPEAT.search(compact)
        if first is not None:
            compact = self._collapse(compact, first.start())
        #: the folded text, its UTF-8 bytes and those bytes read as latin-1 (the automaton's input)
        self.text = compact
        self.data = compact.encode("utf-8")
        self.latin = self.data.decode("latin-1")

    def _collapse(self, c1: str, start: int) -> str:
        pieces: list[str] = []
        pos: list[int] = []
        extra: list[int] = []
        before: list[int] = []
        prev = 0
        removed = 0
        for m in _RUNS.finditer(c1, start):
            a, b = m.span()
            pieces.append(c1[prev : a + 1])
            pos.append(a - removed)
            before.append(removed)
            extra.append(b - a - 1)
            removed += b - a - 1
            prev = b
        pieces.append(c1[prev:])
        self._run_pos, self._run_extra, self._run_before = pos, extra, before
        return "".join(pieces)

    @property
    def has_runs(self) -> bool:
        return self._run_pos is not None

    def run_length(self, j: int) -> int:
        """How many times the folded character at ``j`` is repeated in the text (1 if not)."""
        rp = self._run_pos
        if rp is None:
            return 1
        k = bisect_right(rp, j) - 1
        return self._run_extra[k] + 1 if k >= 0 and rp[k] == j else 1

    def _c1_span(self, j: int) -> tuple[int, int]:
        """First and last position, noise removed but runs kept, of folded character ``j``."""
        rp = self._run_pos
        if rp is None:
            return j, j
        k = bisect_right(rp, j) - 1
        if k < 0:
            return j, j
        if rp[k] == j:
            first = j + self._run_before[k]
            return first, first + self._run_extra[k]
        first = j + self._run_before[k] + self._run_extra[k]
        return first, first

    def _to_original(self, i: int) -> int:
        marked = self._marked
        if marked is None:
            return i
        starts = self._c1_starts
        if starts is None:
            pieces = marked.split(NOISE)
            starts = self._c1_starts = list(accumulate(map(len, pieces), initial=0))[:-1]
        return i + bisect_right(starts, i) - 1

    def span(self, first: int, last: int) -> tuple[int, int]:
        """Original ``[start, end)`` of the folded characters ``first..last`` (inclusive)."""
        return self._to_original(self._c1_span(first)[0]), self._to_original(self._c1_span(last)[1]) + 1
