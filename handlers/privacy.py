"""Masking personal numbers (mainland mobile numbers, 18-digit ID numbers) in every reply and log line.

Digits are recognised in any Unicode digit form (full-width ０-９, circled ①, and so on) and, in a
second pass, as Chinese numerals (一三八…, 幺 for 1), with single spaces, dashes or dots between
them and an optional +86 / 0086 prefix.  Masking over-reaches rather than leaks: any 11-digit run
1[3-9]xxxxxxxxx is masked, valid prefix or not, and masking repeats until nothing is left to mask.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["ascii_digits", "is_mobile", "mask_id_number", "mask_phone", "mask_text"]

# Characters that separate digit groups inside one number: "138 1234 5678", "138-1234-5678", "138.1234.5678".
_SEP = r"[ \t\u00a0\u3000\-\u2010-\u2015\u2212.·_]"
# Mainland mobile prefixes in use (13x, 145-149, 15x but 154, 162/165-167, 170-178, 18x, 19x but 194).
_MOBILE_VALID = re.compile(r"1(?:3\d|4[5-9]|5[0-35-9]|6[2567]|7[0-8]|8\d|9[0-35-9])\d{8}")
_PHONE_IN_TEXT = re.compile(
    rf"(?<!\d)(?:(?:\+|00)?86{_SEP}?)?(1{_SEP}?[3-9](?:{_SEP}?\d){{9}})(?!\d)"
)
# 18-digit ID numbers: contiguous or grouped 6-8-4 ("110105 19491231 002X").
_ID_IN_TEXT = re.compile(
    rf"(?<![\dA-Za-z])(\d{{17}}[\dXx]|\d{{6}}{_SEP}\d{{8}}{_SEP}\d{{3}}[\dXx])(?![\dA-Za-z])"
)


def _digit_table() -> dict[int, str]:
    table: dict[int, str] = {}
    blocks = [
        0xFF10,  # full-width
        0x0660, 0x06F0, 0x0966,  # Arabic-Indic, extended, Devanagari
        0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6,  # mathematical digits
    ]
    for start in blocks:
        for value in range(10):
            table[start + value] = str(value)
    for ch in "①②③④⑤⑥⑦⑧⑨⑴⑵⑶⑷⑸⑹⑺⑻⑼⒈⒉⒊⒋⒌⒍⒎⒏⒐❶❷❸❹❺❻❼❽❾➀➁➂➃➄➅➆➇➈➊➋➌➍➎➏➐➑➒⁰¹²³⁴⁵⁶⁷⁸⁹₀₁₂₃₄₅₆₇₈₉⓪":
        table[ord(ch)] = str(unicodedata.digit(ch))
    table[ord("\uff0b")] = "+"  # full-width plus
    table[ord("\uff0d")] = "-"  # full-width hyphen-minus
    table[ord("\uff0e")] = "."
    table[ord("\uff38")] = "X"  # full-width X of ID numbers
    table[ord("\uff58")] = "x"
    return table


_DIGITS = _digit_table()
_CHINESE = dict(_DIGITS)
_CHINESE.update({ord(c): str(i) for i, c in enumerate("〇一二三四五六七八九")})
_CHINESE.update({ord("零"): "0", ord("幺"): "1", ord("洞"): "0"})


def ascii_digits(text: str) -> str:
    """`text` with every Unicode digit form turned into ASCII 0-9, one character for one."""
    return text.translate(_DIGITS)


def is_mobile(digits: str) -> bool:
    """True for an 11-digit mainland mobile number with a prefix in use (digits only)."""
    return _MOBILE_VALID.fullmatch(digits) is not None


def mask_phone(phone: str) -> str:
    """"13812345678" (in any usual format) → "138****5678"; other lengths keep at most 3 + 4 digits."""
    digits = re.sub(r"\D", "", ascii_digits(phone))
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if len(digits) == 11:
        return f"{digits[:3]}****{digits[-4:]}"
    if len(digits) > 7:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * len(digits)


def mask_id_number(id_number: str) -> str:
    """An 18-character ID number → first 3 and last 4 kept: "110***********123X"."""
    chars = re.sub(r"[^0-9Xx]", "", ascii_digits(id_number)).upper()
    if len(chars) <= 7:
        return "*" * len(chars)
    return chars[:3] + "*" * (len(chars) - 7) + chars[-4:]


def mask_text(text: str) -> str:
    """`text` with every mobile number and ID number masked; everything else is left as it was."""
    if not text:
        return text
    text = _mask_pass(text, _DIGITS)
    return _mask_pass(text, _CHINESE)


def _mask_pass(text: str, table: dict[int, str]) -> str:
    # The translation maps one character to one, so match positions hold in the original text.
    for _ in range(len(text) // 4 + 2):  # each pass removes digits; the bound is never reached
        view = text.translate(table)
        spans: list[tuple[int, int, str]] = []
        for match in _ID_IN_TEXT.finditer(view):
            spans.append((match.start(), match.end(), mask_id_number(match.group(0))))
        for match in _PHONE_IN_TEXT.finditer(view):
            if not any(s <= match.start() < e or s < match.end() <= e for s, e, _ in spans):
                spans.append((match.start(), match.end(), mask_phone(match.group(1))))
        if not spans:
            return text
        pieces: list[str] = []
        last = 0
        for start, end, masked in sorted(spans):
            pieces.append(text[last:start])
            pieces.append(masked)
            last = end
        pieces.append(text[last:])
        text = "".join(pieces)
    return text
