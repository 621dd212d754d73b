"""The matcher: one Aho-Corasick automaton over the coded text (see ``normalise.Coder``).

pyahocorasick looks a node's children up one by one, and a Chinese dictionary gives the root thousands
of children, so neither characters nor UTF-8 bytes are fed to it: each character of the matcher's keys
has a two-byte code (a lead byte and a trail byte, the most frequent characters found first), and the
automaton reads the text's codes as latin-1, two bytes per character. Noise is coded as whitespace
bytes, which the automaton skips (``ignore_white_space``): nothing is removed, so a match ending at byte
``b`` ends at character ``b // 2`` of the original text, and in the common case (no noise inside the
match) it starts ``width - 1`` characters before.

Runs of one repeated character collapse for matching: the automaton also holds every key character
twice (``_REPEAT``); a text where it matches has its repeats coded as whitespace too (``RUN``) and is
scanned again. A hit then extends over the repeats of its last character, and words that need a
repeated character (妈妈) or ASCII word boundaries are checked around the match (``_span``).
Whitelist phrases live in the same automaton.

A ``Matcher`` never changes after it is built: the engine swaps in a new one to change lists.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from operator import attrgetter

import ahocorasick

from sensitive_words.hits import Hit, make_hit
from sensitive_words.lists import WordEntry
from sensitive_words.normalise import DIGIT, OTHER, OTHER_ALNUM, RUN, SKIP, Coder, fold_word

#: ``boundary(text, start, end) -> bool``: True when the hit sits on word boundaries.
BoundaryCheck = Callable[[str, int, int], bool]
Span = tuple[int, int]
# One candidate stored under a folded key: entry (None for a whitelist phrase), its width in folded
# characters, the run lengths it needs (offset, count), and whether its first/last character is an
# ASCII letter or digit, which then must not continue a longer ASCII word.
Candidate = tuple[WordEntry | None, int, tuple[Span, ...], bool, bool]
# What the automaton stores under a key: width, candidates, whether all of them need a repeated
# character, whether none needs the runs worked out (no repeat needed, no ASCII edge).
Value = tuple[int, tuple[Candidate, ...], bool, bool]

_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_ALNUM_NEIGHBOUR = _ASCII_ALNUM | {OTHER_ALNUM, DIGIT}
_ORDER = attrgetter("start", "end")
_RUN_TAIL = re.compile(f"(?:{SKIP}*{RUN})+")  # the repeats that extend a hit's last character
_RUN_HEAD = re.compile(f"[^{SKIP}{RUN}](?={SKIP}*{RUN})")  # the first character of each run
# a key never starts with OTHER: a root child for it, added first, finds it at once
_REPEAT = 0  # what the automaton stores under a repeated key character
_PINS = tuple((ch + RUN).encode("utf-16-le").decode("latin-1") for ch in (OTHER, OTHER_ALNUM, DIGIT))


def _candidate(entry: WordEntry | None, key: str, counts: tuple[int, ...]) -> Candidate:
    needs = tuple((i, n) for i, n in enumerate(counts) if n > 1)
    return entry, len(key), needs, key[0] in _ASCII_ALNUM, key[-1] in _ASCII_ALNUM


#: ``Matcher.scan``: hits, spans of whitelisted phrases, and the coded text (None when nothing was
#: scanned): its ASCII letters and digits (and OTHER_ALNUM) are the detectors' cheap pre-check.
Scan = tuple[list[Hit], list[Span], str | None]


def _span(marked: str, last: int, cand: Candidate) -> Span | None:
    """Original span of ``cand`` matched up to the character at ``last`` (the general case: noise or
    repeats inside, repeats needed, ASCII edges), None if the match does not hold."""
    _entry, width, needs, ascii_head, ascii_tail = cand
    size = len(marked)
    pos = [last]  # positions of the matched characters, last first
    i = last
    for _ in range(width - 1):
        i -= 1
        while marked[i] == SKIP or marked[i] == RUN:
            i -= 1
        pos.append(i)
    for offset, count in needs:
        j = pos[width - 1 - offset] + 1
        length = 1
        while j < size and (marked[j] == SKIP or marked[j] == RUN):
            length += marked[j] == RUN
            j += 1
        if length < count:
            return None
    stop = last + 1
    tail = _RUN_TAIL.match(marked, stop)
    if tail is not None:
        stop = tail.end()
    if ascii_head:
        j = i - 1
        while j >= 0 and (marked[j] == SKIP or marked[j] == RUN):
            j -= 1
        if j >= 0 and marked[j] in _ALNUM_NEIGHBOUR:
            return None
    if ascii_tail:
        j = stop
        while j < size and marked[j] == SKIP:
            j += 1
        if j < size and marked[j] in _ALNUM_NEIGHBOUR:
            return None
    return i, stop


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
        self._coder = coder = Coder(table)
        automaton = ahocorasick.Automaton()
        for pin in _PINS:
            automaton.add_word(pin, None)
        # A word that folds to one repeated character (哈哈, 妈妈) is a run of that character: it is
        # looked up in the text's few runs rather than matched at every single 哈 or 妈.
        self._run_words: dict[str, tuple[Candidate, ...]] = {}
        for key in sorted(table, key=coder.order):
            cands = table[key]
            if len(key) == 1:
                runs_only = tuple(c for c in cands if c[2])
                if runs_only:
                    self._run_words[coder.codes[key]] = runs_only
                cands = [c for c in cands if not c[2]]
                if not cands:
                    continue
            value: Value = (
                len(key),
                tuple(cands),
                all(c[2] for c in cands),  # 哈哈笑 folds to 哈笑: needs a repeated 哈
                not any(c[2] or c[3] or c[4] for c in cands),
            )
            automaton.add_word(coder.key(key), value)
        # last, so that they are the last children looked at: a key character twice in a row marks a
        # repeat, which ``scan`` marks RUN before scanning again (few texts have one)
        for repeat in coder.repeat_keys():
            automaton.add_word(repeat, _REPEAT)
        automaton.make_automaton()
        self._automaton = automaton
        self._empty = not table
        self._boundary = boundary

    def find(self, text: str) -> list[Hit]:
        """Hits in order of position, whitelisted ones dropped."""
        return self.scan(text)[0]

    def scan(self, text: str) -> Scan:
        """Hits (whitelisted ones dropped), spans of the whitelisted phrases found, coded text."""
        if self._empty or not text:
            return [], [], None
        coder = self._coder
        marked, data = coder.code(text)
        found = list(self._automaton.iter(data, ignore_white_space=True))
        if not found:
            return [], [], marked
        aligned = coder.aligned
        boundary = self._boundary
        has_runs = False
        while True:
            hits: list[Hit] = []
            allowed: list[Span] = []
            find = marked.find
            for end_byte, value in found:
                if value is _REPEAT:
                    break  # repeats to mark first: see below
                if not aligned and not end_byte & 1:
                    continue  # a match starting on a trail byte
                width, cands, need_runs, simple = value
                if need_runs and not has_runs:
                    continue
                last = end_byte >> 1
                if simple:
                    first = last - width + 1
                    if first < 0 or find(SKIP, first, last) >= 0 or (has_runs and find(RUN, first, last) >= 0):
                        # noise or repeats inside: walk back over the width - 1 characters before the last
                        first = last
                        for _ in range(width - 1):
                            first -= 1
                            while marked[first] == SKIP or marked[first] == RUN:
                                first -= 1
                    stop = last + 1
                    if has_runs:
                        tail = _RUN_TAIL.match(marked, stop)
                        if tail is not None:
                            stop = tail.end()
                    for cand in cands:
                        entry = cand[0]
                        if entry is None:
                            allowed.append((first, stop))
                        elif not entry.boundary or boundary is None or boundary(text, first, stop):
                            hits.append(
                                make_hit(entry.word, entry.category, entry.level, first, stop, text[first:stop])
                            )
                    continue
                for cand in cands:
                    span = _span(marked, last, cand)
                    if span is not None:
                        self._emit(text, cand[0], span[0], span[1], hits, allowed)
            else:
                break
            # A key character repeated (the automaton matched it twice): mark the repeats and scan again.
            marked, data = coder.mark_repeats(marked, [e >> 1 for e, v in found if v is _REPEAT])
            found = list(self._automaton.iter(data, ignore_white_space=True))
            has_runs = True
        if has_runs and self._run_words:
            for m in _RUN_HEAD.finditer(marked):
                run_cands = self._run_words.get(m[0])
                if run_cands is None:
                    continue
                for cand in run_cands:
                    span = _span(marked, m.start(), cand)
                    if span is not None:
                        self._emit(text, cand[0], span[0], span[1], hits, allowed)
        if allowed and hits:
            hits = [h for h in hits if not any(a <= h.start and h.end <= b for a, b in allowed)]
        if len(hits) > 1:
            hits.sort(key=_ORDER)
        return hits, allowed, marked

    def _emit(
        self, text: str, entry: WordEntry | None, start: int, end: int, hits: list[Hit], allowed: list[Span]
    ) -> None:
        if entry is None:
            allowed.append((start, end))
        elif not entry.boundary or self._boundary is None or self._boundary(text, start, end):
            hits.append(make_hit(entry.word, entry.category, entry.level, start, end, text[start:end]))
