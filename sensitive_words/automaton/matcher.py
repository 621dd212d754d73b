"""The matcher: one Aho-Corasick automaton over the UTF-8 bytes of folded keys.

pyahocorasick looks a node's children up linearly; a Chinese dictionary gives the root thousands
of children. Keys are therefore added as their UTF-8 bytes read as latin-1, so that no node has
more than 64 children, and the text is folded (see ``normalise.Folded``), encoded the same way and
scanned once. UTF-8 is self-synchronising, so every match starts and ends on a character boundary;
byte offsets become character offsets incrementally (matches come in order of their end), and
``Folded.span`` maps them back to the original text. Whitelist phrases live in the same automaton.
Each matcher folds with its own table, where characters in none of its keys are one-byte stand-ins.

A ``Matcher`` never changes after it is built: the engine swaps in a new one to change lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from operator import attrgetter

import ahocorasick

from sensitive_words.hits import Hit, make_hit
from sensitive_words.lists import WordEntry
from sensitive_words.normalise import OTHER_ALNUM, Folded, alphabet_table, fold_word

#: ``boundary(text, start, end) -> bool``: True when the hit sits on word boundaries.
BoundaryCheck = Callable[[str, int, int], bool]
Span = tuple[int, int]
# One candidate stored under a folded key: entry (None for a whitelist phrase), its width in folded
# characters, the run lengths it needs (offset, count), and whether its first/last character is an
# ASCII letter or digit, which then must not continue a longer ASCII word.
Candidate = tuple[WordEntry | None, int, tuple[Span, ...], bool, bool]

_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_ALNUM_NEIGHBOUR = _ASCII_ALNUM | {OTHER_ALNUM}
_ORDER = attrgetter("start", "end")
_FOUR_BYTE_LEADS = (b"\xf0", b"\xf1", b"\xf2", b"\xf3", b"\xf4")


def _candidate(entry: WordEntry | None, key: str, counts: tuple[int, ...]) -> Candidate:
    needs = tuple((i, n) for i, n in enumerate(counts) if n > 1)
    return entry, len(key), needs, key[0] in _ASCII_ALNUM, key[-1] in _ASCII_ALNUM


#: ``Matcher.scan``: hits, spans of whitelisted phrases, and the folded text (None when nothing was
#: scanned), which the detectors' cheap pre-check reads.
Scan = tuple[list[Hit], list[Span], str | None]


def _uniform_width(data: bytes, chars: int) -> int:
    """1 for ASCII, 3 when every character takes three bytes (CJK), else 0."""
    if len(data) == chars:
        return 1
    if len(data) == 3 * chars and not any(lead in data for lead in _FOUR_BYTE_LEADS):
        return 3  # no character is longer than three bytes, so none is shorter either
    return 0


def _runs_ok(folded: Folded, first: int, needs: tuple[Span, ...]) -> bool:
    return all(folded.run_length(first + offset) >= count for offset, count in needs)


def _keys(entries: Iterable[WordEntry], phrases: Iterable[str]) -> tuple[dict[str, list[Candidate]], int, int]:
    """Candidates by folded key. Entries folding alike (赌博, 賭博, 赌 博) keep the strongest level."""
    chosen: dict[tuple[str, tuple[int, ...]], WordEntry] = {}
    for entry in entries:
        key, counts = fold_word(entry.word)
        if not key:
            continue  # only noise: nothing can ever match it
        old = chosen.get((key, counts))
        if old is None or entry.level.rank > old.level.rank:
            chosen[(key, counts)] = entry
    table: dict[str, list[Candidate]] = {}
    for (key, counts), entry in chosen.items():
        table.setdefault(key, []).append(_candidate(entry, key, counts))
    allowed = set()
    for phrase in phrases:
        key, counts = fold_word(phrase)
        if key and (key, counts) not in allowed:
            allowed.add((key, counts))
            table.setdefault(key, []).append(_candidate(None, key, counts))
    return table, len(chosen), len(allowed)


class Matcher:
    """Finds every listed word in a text, except those inside an occurrence of a whitelisted phrase."""

    def __init__(
        self,
        entries: Iterable[WordEntry],
        phrases: Iterable[str] = (),
        boundary: BoundaryCheck | None = None,
    ) -> None:
        table, self.word_count, self.phrase_count = _keys(entries, phrases)
        automaton = ahocorasick.Automaton()
        # A word that folds to one repeated character (哈哈, 妈妈) is a run of that character: it is
        # looked up in the text's few runs rather than matched at every single 哈 or 妈.
        self._run_words: dict[str, tuple[Candidate, ...]] = {}
        for key, cands in table.items():
            if len(key) == 1:
                runs_only = tuple(c for c in cands if c[2])
                if runs_only:
                    self._run_words[key] = runs_only
                cands = [c for c in cands if not c[2]]
                if not cands:
                    continue
            # stored with a flag: every candidate needs a repeated character (哈哈笑 folds to 哈笑)
            value = (all(c[2] for c in cands), tuple(cands))
            automaton.add_word(key.encode("utf-8").decode("latin-1"), value)
        self._scan_bytes = automaton.kind != ahocorasick.EMPTY
        if self._scan_bytes:
            automaton.make_automaton()
        self._automaton = automaton
        self._table = alphabet_table(ch for key in table for ch in key)
        self._empty = not table
        self._boundary = boundary

    def find(self, text: str) -> list[Hit]:
        """Hits in order of position, whitelisted ones dropped."""
        return self.scan(text)[0]

    def scan(self, text: str) -> Scan:
        """Hits (whitelisted ones dropped), spans of the whitelisted phrases found, folded text."""
        if self._empty or not text:
            return [], [], None
        folded = Folded(text, self._table)
        found = self._locate(folded)
        if not found:
            return [], [], folded.text
        hits, allowed = self._hits(text, folded, found)
        return hits, allowed, folded.text

    def _locate(self, folded: Folded) -> list[tuple[int, tuple[Candidate, ...]]]:
        """(last folded position, candidates) of each match of a folded key."""
        found: list[tuple[int, tuple[Candidate, ...]]] = []
        runs = folded.has_runs
        if self._scan_bytes:
            data = folded.data
            width = -1  # bytes per character when all characters have the same width, else 0
            used_bytes = used_chars = 0
            last = -1
            for end_byte, (all_need_runs, cands) in self._automaton.iter(folded.latin):
                if all_need_runs and not runs:
                    continue
                if width < 0:
                    width = _uniform_width(data, len(folded.text))
                if width:
                    last = end_byte // width
                elif end_byte >= used_bytes:  # matches come in order of their end
                    used_chars += len(data[used_bytes : end_byte + 1].decode("utf-8"))
                    used_bytes = end_byte + 1
                    last = used_chars - 1
                found.append((last, cands))
        if runs and self._run_words and not self._run_words.keys().isdisjoint(folded.run_chars):
            for pos, _length in folded.runs():
                run_cands = self._run_words.get(folded.text[pos])
                if run_cands is not None:
                    found.append((pos, run_cands))
        return found

    def _hits(
        self, text: str, folded: Folded, found: list[tuple[int, tuple[Candidate, ...]]]
    ) -> tuple[list[Hit], list[Span]]:
        hits: list[Hit] = []
        allowed: list[Span] = []
        folded_text = folded.text
        size = len(folded_text)
        plain = folded.plain
        runs = folded.has_runs
        boundary = self._boundary
        for last, cands in found:
            for entry, width, needs, ascii_head, ascii_tail in cands:
                first = last - width + 1
                if needs and (not runs or not _runs_ok(folded, first, needs)):
                    continue
                if ascii_head and first > 0 and folded_text[first - 1] in _ALNUM_NEIGHBOUR:
                    continue
                if ascii_tail and last + 1 < size and folded_text[last + 1] in _ALNUM_NEIGHBOUR:
                    continue
                start, end = (first, last + 1) if plain else folded.span(first, last)
                if entry is None:
                    allowed.append((start, end))
                elif not entry.boundary or boundary is None or boundary(text, start, end):
                    hits.append(make_hit(entry.word, entry.category, entry.level, start, end, text[start:end]))
        if allowed and hits:
            hits = [h for h in hits if not any(a <= h.start and h.end <= b for a, b in allowed)]
        if len(hits) > 1:
            hits.sort(key=_ORDER)
        return hits, allowed
