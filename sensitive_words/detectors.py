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
from dataclasses import dataclass
from operator import attrgetter

from sensitive_words.charmap import DETECT_TABLE
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

MOBILE = re.compile(
    r"(?<![\d+])(?<!\d[ \-])((?:(?:\+|00)?86[ \-]?)?1(?:[ \-]?\d){10})" + _NOT_BEFORE_DIGIT
)
ID_CARD = re.compile(_NOT_AFTER_DIGIT + r"(\d{6}[ \-]?\d{8}[ \-]?\d{3}[\dx])(?![ \-]?[\dx])")
BANK_CARD = re.compile(_NOT_AFTER_DIGIT + r"(\d(?:[ \-]?\d){15,18})" + _NOT_BEFORE_DIGIT)
WECHAT = re.compile(
    r"(?:(?:微信|威信|薇信|徽信|wei ?xin|wechat|v信|微x|vx|wx|加v|加微|加薇|\+v|➕v|v号)"
    + _CUE_GAP
    + r"([a-z][a-z0-9_\-]{5,19})|(?<![a-z0-9_])(wxid_[a-z0-9]{4,}))(?![a-z0-9_\-])"
)
QQ = re.compile(r"(?:qq|扣扣|企鹅|加q|q号)(?:群)?" + _CUE_GAP + r"([1-9]\d{4,10})(?!\d)")
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
    """A pattern whose match group(s) are the leak, an optional validator and a default level."""

    name: str
    category: str
    level: Level
    pattern: re.Pattern[str]
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
    Detector("email", "contact", Level.REVIEW, EMAIL),
    Detector("url", "contact", Level.REVIEW, URL, trim=_strip_url_tail),
    Detector("id_card", "pii", Level.BLOCK, ID_CARD, valid=_valid_id_card),
    Detector("bank_card", "pii", Level.BLOCK, BANK_CARD, valid=_validate_digits(is_bank_card)),
    Detector("mobile", "pii", Level.REVIEW, MOBILE, valid=_valid_mobile),
    Detector("wechat", "contact", Level.REVIEW, WECHAT),
    Detector("qq", "contact", Level.REVIEW, QQ),
)
DETECTOR_ORDER = tuple(d.name for d in DETECTORS)


def _alnum_like_class() -> re.Pattern[str]:
    """Characters that normalise to an ASCII letter or digit: without one, nothing can be detected."""
    cps = [cp for cp, to in enumerate(DETECT_TABLE) if 0x30 <= to <= 0x39 or 0x61 <= to <= 0x7A]
    parts: list[str] = []
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        parts.append(re.escape(chr(cps[i])) + ("-" + re.escape(chr(cps[j])) if j > i else ""))
        i = j + 1
    return re.compile("[" + "".join(parts) + "]")


_ALNUM_LIKE = _alnum_like_class()
_ORDER = attrgetter("start", "end")


class Detectors:
    """The enabled detectors, with levels overridable per detector name."""

    def __init__(
        self, enabled: Iterable[str] | None = None, levels: Mapping[str, Level] | None = None
    ) -> None:
        names = set(DETECTOR_ORDER if enabled is None else enabled)
        unknown = names - set(DETECTOR_ORDER)
        if unknown:
            raise ValueError(f"unknown detector(s) {sorted(unknown)}; known: {list(DETECTOR_ORDER)}")
        levels = dict(levels or {})
        self.detectors = tuple(
            Detector(d.name, d.category, Level(levels.get(d.name, d.level)), d.pattern, d.valid, d.trim)
            for d in DETECTORS
            if d.name in names
        )

    def find(self, text: str) -> list[Hit]:
        if not self.detectors or _ALNUM_LIKE.search(text) is None:
            return []
        norm = normalise(text)
        taken: list[tuple[int, int]] = []
        hits: list[Hit] = []
        for det in self.detectors:
            for start, end in det.spans(norm):
                if any(start < b and a < end for a, b in taken):
                    continue
                taken.append((start, end))
                hits.append(Hit(det.name, det.category, det.level, start, end, text[start:end]))
        hits.sort(key=_ORDER)
        return hits
