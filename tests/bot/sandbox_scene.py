"""The sandbox scene the sandbox tests start from: a basic group with two people and the bot as administrator.
The fixtures (sandbox, control, bot, scene) are in tests/bot/conftest.py."""

from __future__ import annotations

from dataclasses import dataclass

import telegram

TOKEN = "123456:TEST-secret_token"
BOT_ID = 123456


@dataclass
class Scene:
    alice: int  # group owner
    bob: int  # plain member
    group: int  # basic group with the bot as administrator


async def drain(bot: telegram.Bot) -> None:
    """Confirm every pending update so a test starts from an empty queue."""
    updates = await bot.get_updates(timeout=0)
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
