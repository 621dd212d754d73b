"""Sensitive words: a pure library (no database, no platform, no I/O at match time).

``SensitiveWordEngine`` holds word lists, whitelists and leak detectors and returns ``Hit``s with
offsets into the original text; ``run_check`` backs ``gridbot words check``.
"""

from sensitive_words.automaton.matcher import Matcher
from sensitive_words.cli import check_lines, run_check
from sensitive_words.detectors import DETECTOR_ORDER, Detectors
from sensitive_words.engine import STARTER_WHITELIST, STARTER_WORDS, SensitiveWordEngine
from sensitive_words.hits import Hit, Level
from sensitive_words.lists import ListFormatError, Whitelist, WordEntry, WordList
from sensitive_words.normalise import fold_word, normalise

__all__ = [
    "DETECTOR_ORDER",
    "STARTER_WHITELIST",
    "STARTER_WORDS",
    "Detectors",
    "Hit",
    "Level",
    "ListFormatError",
    "Matcher",
    "SensitiveWordEngine",
    "Whitelist",
    "WordEntry",
    "WordList",
    "check_lines",
    "fold_word",
    "normalise",
    "run_check",
]
