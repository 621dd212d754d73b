"""Checks that make a digit string a real identifier rather than any long number."""

from __future__ import annotations

from datetime import date

# Mainland mobile prefixes (MIIT numbering plan: mobile, unicom, telecom, broadcast, virtual operators,
# IoT/data-only 14x excluded except 145/147/149 which carry voice).
MOBILE_PREFIXES = frozenset(
    [f"13{d}" for d in "0123456789"]
    + ["145", "146", "147", "148", "149"]
    + [f"15{d}" for d in "012356789"]
    + ["162", "165", "166", "167"]
    + [f"17{d}" for d in "012345678"]
    + [f"18{d}" for d in "0123456789"]
    + [f"19{d}" for d in "0123456789"]
)

# GB/T 2260 province-level codes: the first two digits of a resident ID number.
PROVINCE_CODES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42"}
    | {"43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82"}
    | {"83"}
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"

# Issuer prefixes of bank cards in use in China: UnionPay 6 (62…), Visa 4, Mastercard 5 and
# 2221-2720, JCB and American Express 3. Other long numbers (order numbers 2024…, 户号) are not cards.
BANK_CARD_FIRST_DIGITS = frozenset("3456")


def digits_only(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def is_mobile(digits: str) -> bool:
    """An 11-digit mainland mobile number with an allocated prefix."""
    return len(digits) == 11 and digits.isdigit() and digits[:3] in MOBILE_PREFIXES


def id_check_char(first17: str) -> str:
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def is_id_card(number: str) -> bool:
    """An 18-character resident ID: province code, real birth date, ISO 7064 MOD 11-2 check."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    if number[:2] not in PROVINCE_CODES:
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2100:
        return False
    return id_check_char(number[:17]) == number[17].upper()


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def is_bank_card(digits: str) -> bool:
    """16-19 digits, a known issuer's first digit, and a valid Luhn check digit."""
    return (
        16 <= len(digits) <= 19
        and digits.isdigit()
        and (digits[0] in BANK_CARD_FIRST_DIGITS or 2221 <= int(digits[:4]) <= 2720)
        and luhn_ok(digits)
    )
