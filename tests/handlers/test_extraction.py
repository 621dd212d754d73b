"""户号, phones and address hints that a manager would copy from a customer's message."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.extraction import Extracted, extract


def test_ten_digit_account_number_is_not_a_phone() -> None:
    found = extract("早上起来就没电 户号3201234567 麻烦查一下")
    assert found.account_numbers == ("3201234567",)
    assert found.phones == ()


def test_bare_ten_and_thirteen_digit_runs_are_account_numbers() -> None:
    assert extract("我家3301987654没电了").account_numbers == ("3301987654",)
    assert extract("3201234567890").account_numbers == ("3201234567890",)


def test_other_lengths_are_not_account_numbers_without_a_cue() -> None:
    assert extract("用了123456789度").account_numbers == ()
    assert extract("电费32012345678901").account_numbers == ()


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ("户号是12345678", "12345678"),
        ("用户编号：32 0123 4567", "3201234567"),
        ("户号:3201-2345-67", "3201234567"),
    ],
)
def test_a_cue_makes_any_reasonable_digit_run_an_account_number(text: str, account: str) -> None:
    assert extract(text).account_numbers == (account,)


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        ("没电了 13912345678", "13912345678"),
        ("电话138 1234 5678", "13812345678"),
        ("电话 138-1234-5678", "13812345678"),
        ("+86 139 1234 5678", "13912345678"),
        ("008613912345678", "13912345678"),
        ("电话１３８１２３４５６７８，人在家", "13812345678"),
    ],
)
def test_mobile_numbers_in_any_usual_format(text: str, phone: str) -> None:
    found = extract(text)
    assert found.phones == (phone,)
    assert found.account_numbers == ()


def test_invalid_mobile_prefix_is_not_a_phone() -> None:
    assert extract("12012345678").phones == ()


def test_landlines_with_and_without_area_code() -> None:
    assert extract("座机0571-87654321").phones == ("0571-87654321",)
    assert extract("打(010)62345678").phones == ("010-62345678",)
    assert extract("0571 8765432").phones == ("0571-8765432",)
    assert extract("家里电话 8765432").phones == ("8765432",)
    assert extract("用了8765432度").phones == ()  # a bare number without a cue is no landline


def test_id_number_is_neither_phone_nor_account() -> None:
    found = extract("身份证110105194912311234 户号3201234567")
    assert found.phones == ()
    assert found.account_numbers == ("3201234567",)


def test_phone_and_account_together() -> None:
    found = extract("户号3201122334，电话13687654321，幸福村3组")
    assert found == Extracted(("3201122334",), ("13687654321",), ("幸福村3组",))


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("师傅 幸福村3组这边没电了", "幸福村3组"),
        ("我家住在幸福村3组", "幸福村3组"),
        ("阳光小区5栋2单元整栋楼都黑了", "阳光小区5栋2单元"),
        ("建设路18号路灯那根线被大车挂断了", "建设路18号"),
        ("幸福村1号台区又跳闸了", "幸福村1号台区"),
        ("老张在王家村二组", "王家村二组"),
        ("和平路12号", "和平路12号"),
        ("我家在东方花园3号楼", "东方花园3号楼"),
    ],
)
def test_address_hints(text: str, hint: str) -> None:
    assert extract(text).address_hints == (hint,)


@pytest.mark.parametrize(
    "text", ["整个小区停电了吗", "隔壁小区有人私拉电线", "我们村有人偷电", "新农村建设", "好的谢谢"]
)
def test_generic_places_are_not_hints(text: str) -> None:
    assert extract(text).address_hints == ()


def test_duplicates_are_reported_once() -> None:
    found = extract("13912345678 再说一遍 13912345678")
    assert found.phones == ("13912345678",)


def test_empty_and_huge_input() -> None:
    assert extract("") == Extracted()
    start = time.perf_counter()
    extract("没电了13912345678" * 10_000)
    assert time.perf_counter() - start < 0.5


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_never_raises_and_phones_are_valid(text: str) -> None:
    found = extract(text)
    for phone in found.phones:
        assert phone.replace("-", "").isdigit()
        if phone.startswith("1"):
            assert len(phone) == 11
    for account in found.account_numbers:
        assert account.isdigit()
