"""Load ``data/charmap.tsv`` into ``str.translate`` tables.

Two tables share one source: ``DETECT_TABLE`` maps every character to its normalised form
(full-width → half-width, case, traditional → simplified, digit styles, circled letters), and
``MATCH_TABLE`` does the same but turns every noise character into ``NOISE`` ("\\x00"). Both map
one character to one character, so a translated string has the length of its source.

The tables are lists indexed by code point (planes 0-2): ``str.translate`` looks a list up
without raising ``KeyError`` for unmapped characters, which makes it about twice as fast as a dict.
Characters above U+2FFFF are left as they are by ``str.translate``; the few noise characters up
there (tags, variation selectors supplement, private use planes) are handled by ``ASTRAL_NOISE``.
"""

from __future__ import annotations

import re
from importlib import resources

NOISE = "\x00"
TABLE_SIZE = 0x30000
ASTRAL_NOISE = re.compile("[\U000e0000-\U000e0fff\U000f0000-\U0010ffff]")


def _read_ranges() -> list[tuple[int, int, int, bool]]:
    text = resources.files("sensitive_words").joinpath("data/charmap.tsv").read_text(encoding="utf-8")
    out: list[tuple[int, int, int, bool]] = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        lo, hi, delta, flag = line.split("\t")
        out.append((int(lo, 16), int(hi, 16), int(delta, 16), flag == "n"))
    return out


def _build() -> tuple[list[int], list[int], frozenset[int]]:
    detect = list(range(TABLE_SIZE))
    match = list(range(TABLE_SIZE))
    noise: set[int] = set()
    for lo, hi, delta, is_noise in _read_ranges():
        for cp in range(lo, hi + 1):
            detect[cp] = cp + delta
            if is_noise:
                match[cp] = 0
                noise.add(cp)
            else:
                match[cp] = cp + delta
    return detect, match, frozenset(noise)


DETECT_TABLE, MATCH_TABLE, NOISE_CODEPOINTS = _build()


def normalise_char(ch: str) -> str:
    """The normalised form of one character, noise included (the detectors' view)."""
    cp = ord(ch)
    return chr(DETECT_TABLE[cp]) if cp < TABLE_SIZE else ch


def is_noise(ch: str) -> bool:
    """True for characters skipped between the characters of a word."""
    cp = ord(ch)
    if cp < TABLE_SIZE:
        return cp in NOISE_CODEPOINTS
    return ASTRAL_NOISE.match(ch) is not None
