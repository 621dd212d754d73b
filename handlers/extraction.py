"""Pulling 户号 (account numbers), phone numbers and address hints out of a customer's message.

- Mobile numbers: 11 digits with a prefix in use (see `handlers.privacy.is_mobile`), written with
  spaces, dashes, a +86/0086 prefix or full-width digits; returned as 11 ASCII digits.
- Landlines: "0571-87654321", "(0571)8765432", "010 12345678" → "0571-87654321"; a bare 7-8 digit
  number only right after a cue such as 电话/座机 → "87654321".
- 户号: a digit run of exactly 10 digits (State Grid) or 13 (some provinces) that is not part of a
  phone or ID number; after a cue (户号, 用户编号, 客户编号, 户头号…) any 6-16 digit run.
- Address hints: village groups ("幸福村3组"), compounds ("阳光小区5栋2单元"), street numbers
  ("建设路18号") and transformer areas ("幸福村1号台区").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from handlers.privacy import is_mobile

__all__ = ["Extracted", "extract"]

MAX_CHARS = 4000  # longer messages are only searched in their first MAX_CHARS characters

_SEP = r"[ \-.·]"
_MOBILE = re.compile(rf"(?<!\d)(?:(?:\+|00)?86{_SEP}?)?(1{_SEP}?[3-9](?:{_SEP}?\d){{9}})(?!\d)")
_LANDLINE = re.compile(
    r"(?<!\d)[(]?(010|02\d|0[3-9]\d{2})[)]?[ \-]?([2-9]\d{6,7})(?!\d)"
)
_CUED_LANDLINE = re.compile(r"(?:电话|座机|固话|联系方式|tel)[是为:：\s]{0,3}([2-9]\d{6,7})(?!\d)")
_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?![\dA-Za-z])")
_ACCOUNT_CUE = re.compile(
    r"(?:户号|用户编号|客户编号|用户号|户头号|缴费号|电费户号|用电户号)"
    r"[是为:：#\s]{0,3}((?:\d[ \-]?){5,15}\d)(?!\d)"
)
_DIGIT_RUN = re.compile(r"(?<!\d)(\d{10}|\d{13})(?!\d)")

_NUM = r"(?:\d+|[一二三四五六七八九十两]+)"
_PLACE_NAME = r"[\u4e00-\u9fff]{1,6}"
_ADDRESS = re.compile(
    "|".join([
        # 1号台区, 幸福村1#台区, 东区3号台区 (first: "幸福村1号台区" is one hint, not a village)
        r"[\u4e00-\u9fff0-9a-z#]{1,10}台区",
        # 幸福村3组, 王家湾村二组, 光明村2组, 3组 after a village
        rf"{_PLACE_NAME}村(?:{_NUM}(?:组|队|社))?",
        # 阳光小区5栋2单元301室, 东方花园3号楼
        rf"{_PLACE_NAME}(?:小区|花园|公寓|家园|新村|苑|社区)(?:{_NUM}(?:栋|幢|号楼|楼))?(?:{_NUM}单元)?(?:{_NUM}(?:室|号))?",
        # 建设路18号, 东风路22号
        rf"{_PLACE_NAME}(?:路|街|大道|巷|弄)\d+号(?:院|楼)?",
        # 5栋2单元 on its own
        rf"{_NUM}(?:栋|幢|号楼){_NUM}单元(?:{_NUM}(?:室|号))?",
    ])
)
# Words that precede a place name in a sentence and are not part of it.
_LEADING = re.compile(
    r"^(?:咱们这个|我们这个|这个|那个|整个|隔壁|对面|附近|旁边|我们家|我们|我家|俺家|俺们|咱们|咱|俺|我|你们|他们|家|住在|住|在|是|到|去|的|那边|这边|这里|那里|"
    r"师傅|麻烦|请问|快来|喂|从|就|离|跟|给|帮|都|也|还|说|请)+"
)
_INNER_BREAK = re.compile(r"[在住是的去从跟给]")
_NOT_PLACES = {
    "农村", "新农村", "乡村", "山村", "村村", "全村", "个村", "每个村", "本村", "一个村", "村",
    "小区", "社区", "花园", "公寓", "家园", "新村", "苑", "台区", "本小区", "全小区",
}


@dataclass(frozen=True, slots=True)
class Extracted:
    account_numbers: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    address_hints: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        """Something worth adding to an open ticket (a 户号, a phone number, an address)."""
        return bool(self.account_numbers or self.phones or self.address_hints)


def extract(text: str) -> Extracted:
    if not isinstance(text, str) or not text:
        return Extracted()
    norm = unicodedata.normalize("NFKC", text[:MAX_CHARS]).lower()
    phones, norm = _phones(norm)
    norm = _ID_NUMBER.sub(" ", norm)  # never take part of an ID number as a 户号
    accounts = _accounts(norm)
    return Extracted(tuple(accounts), tuple(phones), tuple(_addresses(norm)))


def _phones(text: str) -> tuple[list[str], str]:
    """The phone numbers found, and the text with them blanked out (so they are not taken as 户号)."""
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in _MOBILE.finditer(text):
        digits = re.sub(r"\D", "", match.group(1))
        if is_mobile(digits):
            found.append(digits)
            spans.append(match.span())
    blanked = _blank(text, spans)
    spans = []
    for match in _LANDLINE.finditer(blanked):
        found.append(f"{match.group(1)}-{match.group(2)}")
        spans.append(match.span())
    blanked = _blank(blanked, spans)
    spans = []
    for match in _CUED_LANDLINE.finditer(blanked):
        found.append(match.group(1))
        spans.append(match.span(1))
    return _unique(found), _blank(blanked, spans)


def _accounts(text: str) -> list[str]:
    found: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in _ACCOUNT_CUE.finditer(text):
        found.append(re.sub(r"\D", "", match.group(1)))
        spans.append(match.span(1))
    rest = _blank(text, spans)
    found.extend(match.group(1) for match in _DIGIT_RUN.finditer(rest))
    return _unique(found)


def _addresses(text: str) -> list[str]:
    found: list[str] = []
    for match in _ADDRESS.finditer(text):
        # "老张在王家村二组" → "王家村二组": a place name starts after the last 在/住/是/的…
        hint = _LEADING.sub("", _INNER_BREAK.split(match.group(0))[-1])
        if len(hint) >= 2 and hint not in _NOT_PLACES:
            found.append(hint)
    return _unique(found)


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in spans:
        text = text[:start] + " " * (end - start) + text[end:]
    return text


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))
