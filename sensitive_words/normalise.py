"""Normalisation with a way back: fold a text for matching, keeping every position.

A word is folded (``fold_word``) by ``MATCH_TABLE`` (one character to one character, noise marked),
dropping the noise and collapsing each run of one repeated character, which gives its folded key and
the run length each key character needs at least.

A text is coded for a matcher by ``Coder.code`` (``str.translate`` and encoding, both in C): every
character becomes exactly one code character, so every position stays where it was:

* a character in one of the matcher's keys becomes its code (``Coder`` gives each one a code point
  whose two UTF-16 bytes, a *lead* and a *trail*, keep the automaton's nodes small, the characters
  most frequent in the keys first);
* noise becomes ``SKIP``, two whitespace bytes, which the automaton skips (``ignore_white_space``),
  so a word matches through noise without anything being removed;
* any other character becomes ``OTHER`` (``OTHER_ALNUM`` for an ASCII letter, ``DIGIT`` for a digit:
  they still bound an ASCII word, and tell the leak detectors whether to look); an ASCII letter or
  digit in a key stands for itself.

A repeat of the character before it (noise between allowed) is found by the matcher's automaton,
which holds every key character twice; ``Coder.mark_repeats`` then codes it ``RUN`` (two whitespace
bytes as well) and the text is scanned again, so runs collapse for matching, still without moving
anything.

The automaton reads the UTF-16-LE bytes (as latin-1): two per character, so a match ending at byte
``b`` ends at character ``b // 2`` of the original text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from functools import cache

from sensitive_words.charmap import ASTRAL_NOISE, DETECT_TABLE, MATCH_TABLE, NOISE, TABLE_SIZE

#: Codes of a noise character and of a repeat of the character before: each is two whitespace bytes.
SKIP = "\u2020"
RUN = "\u0909"
#: Codes of a character in no key (OTHER_ALNUM for an ASCII letter, DIGIT for an ASCII digit).
OTHER = "\x01"
OTHER_ALNUM = "\x02"
DIGIT = "\x03"
#: Bytes never used in a code: whitespace in some C library's ``iswspace`` (the automaton would skip
#: them), ASCII letters and digits (their own codes, with trail byte 0), and the bytes whose trail would
#: make a surrogate.
_WHITESPACE_BYTES = frozenset([*range(0x09, 0x0E), *range(0x1C, 0x21), 0x85, 0xA0])
_ALNUM_BYTES = frozenset(b"0123456789abcdefghijklmnopqrstuvwxyz")
_CODE_BYTES = tuple(
    b for b in range(0x04, 0x100) if b not in _WHITESPACE_BYTES and b not in _ALNUM_BYTES and not 0xD8 <= b <= 0xDF
)
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


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
def _base_table() -> tuple[list[int], dict[int, list[int]]]:
    """The code table of a matcher without keys (noise SKIP, everything else OTHER, OTHER_ALNUM or DIGIT) and
    the sources of each ``MATCH_TABLE`` target."""
    skip, other, other_alnum, digit = ord(SKIP), ord(OTHER), ord(OTHER_ALNUM), ord(DIGIT)
    base: list[int] = []
    sources: dict[int, list[int]] = {}
    for cp, target in enumerate(MATCH_TABLE):
        if target == 0:
            base.append(skip)
            continue
        base.append(digit if 0x30 <= target <= 0x39 else other_alnum if 0x61 <= target <= 0x7A else other)
        sources.setdefault(target, []).append(cp)
    return base, sources


@cache
def _square() -> list[int]:
    half = len(_CODE_BYTES) // 2
    leads, trails = _CODE_BYTES[:half], _CODE_BYTES[half:]
    pairs = sorted(((i, j) for i in range(len(leads)) for j in range(len(trails))), key=lambda p: (p[0] + p[1], p[0]))
    return [trails[j] << 8 | leads[i] for i, j in pairs]


def _code_points(count: int) -> list[int]:
    """``count`` code points of two distinct code bytes each, the cheapest first.

    The automaton looks a node's children up one by one, in the order they were added: the root's
    children are lead bytes and a lead's children trail bytes. Leads and trails come from disjoint
    halves of ``_CODE_BYTES`` (so a match cannot start on a trail byte), enumerated by diagonals
    (lead index + trail index), so that the first codes are found after few comparisons. Past the
    ``lead x trail`` square, any two code bytes (the matcher then drops matches ending on a lead byte).
    """
    out = _square()[:count]
    if count > len(out):
        square = set(out)
        out += [t << 8 | lead for t in _CODE_BYTES for lead in _CODE_BYTES if t << 8 | lead not in square]
    if count > len(out):
        raise ValueError(f"too many distinct characters in the keys: {count}")
    return out[:count]


class Coder:
    """The code of one matcher's keys, and ``code(text)`` for its texts (see the module's doc)."""

    __slots__ = ("_astral", "aligned", "codes", "rank", "table")

    def __init__(self, keys: Iterable[str]) -> None:
        freq = Counter(ch for key in keys for ch in key)
        ascii_alnum = [ch for ch in freq if ch.isascii() and ch.isalnum()]
        others = sorted((ch for ch in freq if ch not in ascii_alnum), key=lambda ch: (-freq[ch], ch))
        #: key character -> its code character, most frequent first
        self.codes: dict[str, str] = {ch: ch for ch in ascii_alnum}
        points = _code_points(len(others))
        self.codes.update((ch, chr(cp)) for ch, cp in zip(others, points, strict=True))
        self.rank = {ch: i for i, ch in enumerate(self.codes)}
        #: True when every code has a lead and a trail from disjoint sets (no misaligned match)
        self.aligned = len(points) <= len(_square())
        base, sources = _base_table()
        table = base.copy()
        self._astral: dict[str, str] = {}  # codes of key characters above the table
        for ch, code in self.codes.items():
            cp = ord(ch)
            if cp >= TABLE_SIZE:
                self._astral[ch] = code
            for src in sources.get(cp, ()):
                table[src] = ord(code)
        self.table = table

    def order(self, key: str) -> list[int]:
        """Sort key of a folded key: keys added in this order add the frequent codes first."""
        return [self.rank[ch] for ch in key]

    def key(self, key: str) -> str:
        """The automaton's input for a folded key."""
        return "".join(self.codes[ch] for ch in key).encode("utf-16-le").decode("latin-1")

    def code(self, text: str) -> tuple[str, str]:
        """The coded text (one code character per character of ``text``, repeats not marked yet) and
        the automaton's input."""
        coded = text.translate(self.table)
        data = coded.encode("utf-16-le")
        if len(data) != 2 * len(coded):  # characters above the BMP left as they were by the table
            coded = _ASTRAL.sub(self._astral_code, coded)
            data = coded.encode("utf-16-le")
        return coded, data.decode("latin-1")

    def repeat_keys(self) -> Iterator[str]:
        """Automaton inputs matching a repeat of a key character (the noise between is skipped)."""
        for code in self.codes.values():
            yield (code + code).encode("utf-16-le").decode("latin-1")

    @staticmethod
    def mark_repeats(coded: str, repeats: Iterable[int]) -> tuple[str, str]:
        """``coded`` with the characters at ``repeats`` (positions, in order, of repeats of the
        character before them, only noise between) marked ``RUN``, and the automaton's input."""
        parts = []
        prev = 0
        for pos in repeats:
            parts.append(coded[prev:pos])
            prev = pos + 1
        parts.append(coded[prev:])
        marked = RUN.join(parts)
        return marked, marked.encode("utf-16-le").decode("latin-1")

    def _astral_code(self, m: re.Match[str]) -> str:
        """Code of a character the table leaves as it is (U+30000 and above)."""
        ch = m[0]
        code = self._astral.get(ch)
        if code is not None:
            return code
        return SKIP if ASTRAL_NOISE.match(ch) else OTHER
