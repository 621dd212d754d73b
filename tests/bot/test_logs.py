"""No phone or ID number reaches a log line in clear."""

from __future__ import annotations

import logging

import pytest

from bot.logs import MaskPersonalData


def test_log_lines_are_masked(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("gridbot.test")
    caplog.handler.addFilter(MaskPersonalData())
    with caplog.at_level(logging.INFO):
        logger.info("customer %s called from %s", "王大爷", "13812345678")
        logger.info("id 110101199003071234 in text")
    text = caplog.text
    assert "13812345678" not in text and "138****5678" in text
    assert "110101199003071234" not in text
