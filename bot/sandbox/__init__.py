"""A fake Telegram Bot API server for tests, demos and benchmarks, driven by a control API.

Point the real python-telegram-bot client at it with ``base_url=f"{server.base_url}/bot"``.
"""

from bot.sandbox.client import SandboxClient, SandboxError
from bot.sandbox.server import SandboxServer, run_sandbox
from bot.sandbox.world import World

__all__ = ["SandboxClient", "SandboxError", "SandboxServer", "World", "run_sandbox"]
