"""Detectors for privacy and contact leaks: validated patterns, not "N digits".

They run over the one-to-one normalised text (``normalise.normalise``: full-width and circled digits
become ASCII, letters lower case), so a match's offsets are offsets in the original text. A hit's
``word`` is the detector's name; its category is ``pii`` (mobile, id_card, bank_card) or ``contact``
(wechat, qq, url, email). When two detectors claim overlapping text, the earlier one in
``DETECTOR_ORDER`` wins (an ID number is not also reported as a bank card).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from operator import attrgetter

from sensitive_words.hits import Hit, Level
from sensitive_words.normalise import normalise
from sensitive_words.validators import digits_only, is_bank_card, is_id_card, is_mobile

_NOT_AFTER_DIGIT = r"(?<!\d)(?<!\d[ \-])"
_NOT_BEFORE_DIGIT = r"(?![ \-]?\d)"
_CUE_GAP = r"(?:号码|号|id)?[\s:,=是为]{0,3}"
_TLDS = (
    "com|cn|net|org|top|xyz|vip|cc|me|io|info|app|shop|club|site|online|ltd|wang|tv|co|biz|pro|link|"
    "fun|ink|work|live|store|tech|asia|hk|tw|mo|edu|gov"
)
_URL_TAIL = ".,;:!?)]}'\""

MOBILE = re.compile(r"(?<![\d+])(?<!\d[ \-])((?:(?:\+|00)?86[ \-]?)?1(?:[ \-]?\d){10})" + _NOT_BEFORE_DIGIT)
ID_CARD = re.compile(_NOT_AFTER_DIGIT + r"(\d{6}[ \-]?\d{8}[ \-]?\d{3}[\dx])(?![ \-]?[\dx])")
BANK_CARD = re.compile(_NOT_AFTER_DIGIT + r"(\d(?:[ \-]?\d){15,18})" + _NOT_BEFORE_DIGIT)
_WECHAT_CUES = r"微信|威信|薇信|徽信|wei ?xin|wechat|v信|微x|vx|wx|加v|加微|加薇|\+v|➕v|v号"
_QQ_CUES = r"qq|扣扣|企鹅|加q|q号"
WECHAT = re.compile(
    r"(?:(?:"
    + _WECHAT_CUES
    + ")"
    + _CUE_GAP
    + r"([a-z][a-z0-9_\-]{5,19})|(?<![a-z0-9_])(wxid_[a-z0-9]{4,}))(?![a-z0-9_\-])"
)
QQ = re.compile(r"(?:" + _QQ_CUES + r")(?:群)?" + _CUE_GAP + r"([1-9]\d{4,10})(?!\d)")
EMAIL = re.compile(
    r"(?<![a-z0-9_%+\-])([a-z0-9_%+\-][a-z0-9._%+\-]*@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,})(?![a-z0-9\-])"
)
_URL_CHARS = r"[a-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]"
URL = re.compile(
    r"(?<![a-z0-9@.\-_/])((?:https?://|www\.)" + _URL_CHARS + "+"
    r"|(?:[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?\.)+(?:" + _TLDS + r")(?![a-z0-9\-.])(?::\d+)?"
    r"(?:/" + _URL_CHARS + "*)?)"
)


def _valid_mobile(matched: str) -> bool:
    digits = digits_only(matched)
    return is_mobile(digits[-11:]) and digits[:-11] in ("", "86", "0086")


def _valid_id_card(matched: str) -> bool:
    return is_id_card(matched.replace(" ", "").replace("-", ""))


def _validate_digits(check: Callable[[str], bool]) -> Callable[[str], bool]:
    return lambda matched: check(digits_only(matched))


def _strip_url_tail(matched: str) -> str:
    return matched.rstrip(_URL_TAIL)


@dataclass(frozen=True, slots=True)
class Detector:
    """A pattern whose match group(s) are the leak, a validator, a default level, and cheap gates
    checked before the (slower) pattern runs: a minimum count of ASCII digits, a character that
    must occur, a hint pattern that must match."""

    name: str
    category: str
    level: Level
    pattern: re.Pattern[str]
    min_digits: int = 0
    needs_char: str = ""
    hint: re.Pattern[str] | None = None
    valid: Callable[[str], bool] | None = None
    trim: Callable[[str], str] | None = None

    def spans(self, norm: str) -> Iterator[tuple[int, int]]:
        for m in self.pattern.finditer(norm):
            group = next(g for g in range(1, (m.lastindex or 0) + 1) if m.group(g) is not None)
            matched = m.group(group)
            start = m.start(group)
            if self.trim is not None:
                matched = self.trim(matched)
            if matched and (self.valid is None or self.valid(matched)):
                yield start, start + len(matched)


DETECTORS: tuple[Detector, ...] = (
    Detector("email", "contact", Level.REVIEW, EMAIL, needs_char="@"),
    Detector(
        "url",
        "contact",
        Level.REVIEW,
        URL,
        needs_char=".",
        hint=re.compile(r"[a-z0-9]\.[a-z]"),
        trim=_strip_url_tail,
    ),
    Detector("id_card", "pii", Level.BLOCK, ID_CARD, min_digits=17, valid=_valid_id_card),
    Detector("bank_card", "pii", Level.BLOCK, BANK_CARD, min_digits=16, valid=_validate_digits(is_bank_card)),
    Detector("mobile", "pii", Level.REVIEW, MOBILE, min_digits=11, valid=_valid_mobile),
    Detector("wechat", "contact", Level.REVIEW, WECHAT, hint=re.compile(_WECHAT_CUES + "|wxid_")),
    Detector("qq", "contact", Level.REVIEW, QQ, min_digits=5, hint=re.compile(_QQ_CUES)),
)
DETECTOR_ORDER = tuple(d.name for d in DETECTORS)
# Every detector needs an ASCII letter or digit after normalisation (\x02, \x03: a matcher's codes
# of letters and digits in none of its keys, see ``normalise.Coder``).
_ASCII_ALNUM = re.compile("[0-9a-z\x02\x03]")
# On a matcher's coded text (noise is \u2020, a repeat of the character before \u0909): what some
# detector needs, beyond an @ (e-mail): five digits with at most one separator between (QQ and every
# PII detector), a letter or digit, a dot and a letter (URL), a letter and five more ID characters
# (WeChat).
_ANY_LEAK = re.compile(
    "[0-9\x03](?:\u2020?[0-9\x03\u0909]){4}"
    "|[0-9a-z\x02\x03]\u0909*\u2020[a-z\x02]"
    "|[a-z\x02][0-9a-z\x02\x03\u2020\u0909]{5}"
)
_AT = ("@", "\uff20", "\ufe6b")  # the characters normalised to @
# A number of N digits, separators included, is a run of at least N digits, spaces and dashes.
_DIGIT_GROUPS = bytes(0x30 if 0x30 <= b <= 0x39 or b in b" -\t" else 0x78 for b in range(256))
_ORDER = attrgetter("start", "end")


class Detectors:
    """The enabled detectors, with levels overridable per detector name."""

    def __init__(self, enabled: Iterable[str] | None = None, levels: Mapping[str, Level] | None = None) -> None:
        names = set(DETECTOR_ORDER if enabled is None else enabled)
        unknown = names - set(DETECTOR_ORDER)
        if unknown:
            raise ValueError(f"unknown detector(s) {sorted(unknown)}; known: {list(DETECTOR_ORDER)}")
        levels = dict(levels or {})
        self.detectors = tuple(
            replace(d, level=Level(levels.get(d.name, d.level))) for d in DETECTORS if d.name in names
        )

    def find(self, text: str, folded: str | None = None) -> list[Hit]:
        """Leaks in ``text``; ``folded`` (the matcher's coded text, if at hand) saves pre-checks.

        Every detector needs an ASCII letter or digit after normalisation, and the coded text keeps
        exactly those (as themselves, ``OTHER_ALNUM`` or ``DIGIT``), so a text whose coded form has
        none is skipped at once, and one without a shape some detector needs (``_ANY_LEAK``) as well,
        before anything is normalised.
        """
        if not self.detectors:
            return []
        norm = None
        if folded is None:
            norm = normalise(text)
            folded = norm
        if _ASCII_ALNUM.search(folded) is None:
            return []
        if norm is None:
            if _ANY_LEAK.search(folded) is None and not any(at in text for at in _AT):
                return []
            norm = normalise(text)
        # digits and separators become "0", all else "x" (bytes.translate, in C): a number of N
        # digits needs a run of N zeros
        groups = norm.encode("utf-8").translate(_DIGIT_GROUPS)
        taken: list[tuple[int, int]] = []
        hits: list[Hit] = []
        for det in self.detectors:
            if det.min_digits and b"0" * det.min_digits not in groups:
                continue
            if det.needs_char and det.needs_char not in norm:
                continue
            if det.hint is not None and det.hint.search(norm) is None:
                continue
            for start, end in det.spans(norm):
                if any(start < b and a < end for a, b in taken):
                    continue
                taken.append((start, end))
                hits.append(Hit(det.name, det.category, det.level, start, end, text[start:end]))
        if len(hits) > 1:
            hits.sort(key=_ORDER)
        return hits
