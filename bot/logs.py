"""Logging set-up: every line passes through the privacy mask, and chatty libraries are quietened."""

from __future__ import annotations

import logging

from handlers.privacy import mask_text


class MaskPersonalData(logging.Filter):
    """Masks mobile and ID numbers in the final message, whatever code logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def configure(level: int) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(MaskPersonalData())
    # httpx logs request URLs, which carry the bot token: keep it at WARNING.
    for noisy in ("httpx", "httpcore", "telegram.ext", "uvicorn", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
