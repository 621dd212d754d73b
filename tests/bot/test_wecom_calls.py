"""WeCom's errcodes sorted into what the outbox does with a message: retry, give up, or fix the settings."""

from __future__ import annotations

import requests
from wechatpy.exceptions import APILimitedException, WeChatClientException

from bot.wecom_calls import Verdict, classify


def test_busy_and_rate_limits_are_retried() -> None:
    assert classify(APILimitedException(45009, "api freq out of limit")).verdict is Verdict.RETRY
    assert classify(WeChatClientException(-1, "system busy")).verdict is Verdict.RETRY
    assert classify(requests.ConnectionError("refused")).verdict is Verdict.RETRY
    assert classify(WeChatClientException(None, None)).verdict is Verdict.RETRY  # an HTTP 5xx


def test_settings_errors_are_reconfigure_and_name_the_setting(caplog) -> None:  # type: ignore[no-untyped-def]
    assert classify(WeChatClientException(40001, "invalid credential")).verdict is Verdict.RECONFIGURE
    assert "GRIDBOT_WECOM__SECRET" in caplog.text
    assert classify(WeChatClientException(48002, "api forbidden")).verdict is Verdict.RECONFIGURE
    assert "客户联系" in caplog.text


def test_a_refusal_of_this_message_gives_it_up() -> None:
    error = classify(WeChatClientException(81013, "user & party & tag all invalid"))
    assert error.verdict is Verdict.GIVE_UP and error.errcode == 81013 and "81013" in str(error)
