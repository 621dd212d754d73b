"""Every reply and log line goes through mask_text: no mobile or ID number may survive it."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.privacy import is_mobile, mask_id_number, mask_phone, mask_text

FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")

# An independent detector for the property tests: 11 digits 1[3-9]…, allowing one space, dash or dot
# between digits, not glued to other digits.
_LEAK = re.compile(r"(?<!\d)1[ \-.]?[3-9](?:[ \-.]?\d){9}(?!\d)")


def leaks(text: str) -> list[str]:
    norm = unicodedata.normalize("NFKC", text).replace("\u3000", " ")
    return _LEAK.findall(norm)


def test_mask_phone_keeps_prefix_and_last_four() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("138-1234-5678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "138****5678"
    assert mask_phone("１３８１２３４５６７８") == "138****5678"


def test_mask_id_number_keeps_first_three_and_last_four() -> None:
    assert mask_id_number("11010519491231123X") == "110***********123X"
    assert mask_id_number("110105194912311234") == "110***********1234"
    assert len(mask_id_number("11010519491231123x")) == 18


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的电话13812345678，快来", "我的电话138****5678，快来"),
        ("电话：138 1234 5678", "电话：138****5678"),
        ("电话：138-1234-5678。", "电话：138****5678。"),
        ("+8613912345678", "139****5678"),
        ("联系１３９１２３４５６７８谢谢", "联系139****5678谢谢"),
        ("身份证110105194912311234", "身份证110***********1234"),
        ("身份证 11010519491231123X 办过户", "身份证 110***********123X 办过户"),
        ("身份证１１０１０５１９４９１２３１１２３Ｘ", "身份证110***********123X"),
        ("幺三八一二三四五六七八", "138****5678"),
        ("王二13812345678", "王二138****5678"),
    ],
)
def test_mask_text_masks_numbers_in_free_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "户号3201234567，没电了",  # a 10-digit 户号 is not a phone
        "户号1381234567890",  # nor a 13-digit one that happens to start like a phone
        "电费128.50元，用了300度",
        "打95598或者12398",
        "2024年7月3日下午3点",
        "",
        "没有数字的一句话",
    ],
)
def test_mask_text_leaves_other_numbers_alone(text: str) -> None:
    assert mask_text(text) == text


def test_is_mobile_checks_prefixes() -> None:
    assert is_mobile("13812345678")
    assert is_mobile("19912345678")
    assert not is_mobile("12012345678")
    assert not is_mobile("1381234567")
    assert not is_mobile("15412345678")


mobiles = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
)


@st.composite
def formatted_mobile(draw: st.DrawFn) -> tuple[str, str]:
    digits = draw(mobiles)
    style = draw(st.sampled_from(["plain", "spaces", "dashes", "plus86", "full", "full_spaces", "dots"]))
    text = {
        "plain": digits,
        "spaces": f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        "dashes": f"{digits[:3]}-{digits[3:7]}-{digits[7:]}",
        "plus86": f"+86 {digits}",
        "full": digits.translate(FULL_WIDTH),
        "full_spaces": f"{digits[:3]}\u3000{digits[3:7]}\u3000{digits[7:]}".translate(FULL_WIDTH),
        "dots": f"{digits[:3]}.{digits[3:7]}.{digits[7:]}",
    }[style]
    return digits, text


_PIECES = [*"停电了我家没电户号请师傅快来，。！？ abcXYZ😀[]：:", "电话", "手机", "+", "-"]
filler = st.lists(st.sampled_from(_PIECES), max_size=8).map("".join)
# between two numbers there is at least one non-digit, else they are one 22-digit run, not two phones
separator = st.lists(st.sampled_from(_PIECES), min_size=1, max_size=8).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(separator, formatted_mobile()), min_size=1, max_size=4), filler)
def test_no_embedded_mobile_survives(parts: list[tuple[str, tuple[str, str]]], tail: str) -> None:
    text = "".join(f + m[1] for f, m in parts) + tail
    masked = mask_text(text)
    assert leaks(masked) == []
    squashed = re.sub(r"\D", "", unicodedata.normalize("NFKC", masked))
    for _, (digits, _) in parts:
        assert digits not in squashed


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789１３８ -.+x电话，")), max_size=60))
def test_mask_text_output_never_contains_a_mobile(text: str) -> None:
    assert leaks(mask_text(text)) == []


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_mask_text_never_raises_and_keeps_digitless_text(text: str) -> None:
    masked = mask_text(text)
    if not any(ch.isdigit() for ch in unicodedata.normalize("NFKC", text)) and not any(
        ch in "〇一二三四五六七八九零幺洞" for ch in text
    ):
        assert masked == text
