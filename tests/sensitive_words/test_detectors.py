"""Leak detectors: validated, not "N digits"."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sensitive_words import Detectors, Level
from sensitive_words.validators import id_check_char, is_bank_card, is_id_card, is_mobile, luhn_ok

DET = Detectors()


def found(text: str) -> list[tuple[str, str]]:
    return [(h.word, h.text) for h in DET.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的电话13812345678请联系", [("mobile", "13812345678")]),
        ("电话：138 1234 5678", [("mobile", "138 1234 5678")]),
        ("+86-138-1234-5678", [("mobile", "+86-138-1234-5678")]),
        ("008613812345678", [("mobile", "008613812345678")]),
        ("１３８１２３４５６７８", [("mobile", "１３８１２３４５６７８")]),
        ("①③⑧①②③④⑤⑥⑦⑧", [("mobile", "①③⑧①②③④⑤⑥⑦⑧")]),
        ("1 3 8 1 2 3 4 5 6 7 8", [("mobile", "1 3 8 1 2 3 4 5 6 7 8")]),
        ("户号1381234567", []),  # 10 digits: an account number
        ("户号 3201234567 欠费", []),
        ("订单号202311241381234567", []),  # a mobile-looking run inside a longer number
        ("12012345678", []),  # 120 is not a mobile prefix
        ("身份证11010519491231002X", [("id_card", "11010519491231002X")]),
        ("身份证11010519491231002x号", [("id_card", "11010519491231002x")]),
        ("110105194912310021", []),  # bad check digit
        ("990105194912310026", []),  # no such province
        ("卡号6222 0212 3456 7894", [("bank_card", "6222 0212 3456 7894")]),
        ("6222021234567894", [("bank_card", "6222021234567894")]),
        ("6222021234567895", []),  # Luhn fails
        ("单号2023112412345674", []),  # Luhn passes, but 20… is an order number
        ("加微信：abc_123x", [("wechat", "abc_123x")]),
        ("vx abcdef1", [("wechat", "abcdef1")]),
        ("加Ｖ：ｗｘｉｄ＿ａｂｃ１２３", [("wechat", "ｗｘｉｄ＿ａｂｃ１２３")]),
        ("微信号是 Zhang-San88", [("wechat", "Zhang-San88")]),
        ("qq 123456789", [("qq", "123456789")]),
        ("QQ群：87654321", [("qq", "87654321")]),
        ("扣扣1234567", [("qq", "1234567")]),
        ("访问www.smallstonesoft.com。", [("url", "www.smallstonesoft.com")]),
        ("https://t.cn/A6x9？", [("url", "https://t.cn/A6x9")]),
        ("点击 HTTP://EVIL.TOP/pay?id=1, 退费", [("url", "HTTP://EVIL.TOP/pay?id=1")]),
        ("看 abc.xyz/q 吧", [("url", "abc.xyz/q")]),
        ("邮箱abc.def@qq.com吧", [("email", "abc.def@qq.com")]),
        ("例如P37页，价格3.5元，电压220V，10kV线路", []),
        ("95598是服务热线", []),
        ("供电所通知：明天停电", []),
    ],
)
def test_examples(text: str, expected: list[tuple[str, str]]) -> None:
    assert found(text) == expected


def test_categories_and_levels() -> None:
    hits = DET.find("电话13812345678 邮箱a@b.cn")
    assert [(h.word, h.category, h.level) for h in hits] == [
        ("mobile", "pii", Level.REVIEW),
        ("email", "contact", Level.REVIEW),
    ]


def test_levels_and_enabled_are_configurable() -> None:
    det = Detectors(enabled=["mobile"], levels={"mobile": Level.LOG})
    assert [(h.word, h.level) for h in det.find("13812345678 a@b.cn")] == [("mobile", Level.LOG)]
    with pytest.raises(ValueError, match="unknown detector"):
        Detectors(enabled=["fax"])


def test_validators() -> None:
    assert is_mobile("13812345678") and not is_mobile("1381234567") and not is_mobile("11012345678")
    assert is_id_card("11010519491231002X") and not is_id_card("11010519491331002X")
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert is_bank_card("4111111111111111") and not is_bank_card("1111111111111117")


def _id_number(rng: random.Random) -> str:
    body = rng.choice(["110105", "320102", "440305", "510104"]) + f"{rng.randint(1950, 2010)}"
    body += f"{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return body + id_check_char(body)


FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")


@given(st.randoms(use_true_random=False), st.booleans(), st.sampled_from(["", " ", "-"]))
@settings(max_examples=100, deadline=None)
def test_generated_numbers_are_found(rng: random.Random, fullwidth: bool, sep: str) -> None:
    number = _id_number(rng)
    mobile = rng.choice(["138", "159", "186", "199", "170"]) + f"{rng.randint(0, 10**8 - 1):08d}"
    spaced = mobile[:3] + sep + mobile[3:7] + sep + mobile[7:]
    text = f"我的身份证是{number}，电话{spaced}，户号{rng.randint(10**9, 10**10 - 1)}。"
    if fullwidth:
        text = text.translate(FULL)
    assert [h.word for h in DET.find(text)] == ["id_card", "mobile"]


@given(st.integers(10**9, 10**10 - 1))
@settings(max_examples=200, deadline=None)
def test_ten_digit_account_numbers_are_not_phones(account: int) -> None:
    assert DET.find(f"户号{account}的电费") == []
