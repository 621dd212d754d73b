"""A fake Telegram Bot API server (sandbox) for tests, demos and benchmarks, driven by a control API.

Point the real python-telegram-bot client at it with ``base_url=f"{base}/bot"`` and
``base_file_url=f"{base}/file/bot"``. Behaviours worth knowing, all as on the real Telegram:

* any token ``<digits>:<secret>`` is a bot with user id ``<digits>``; register it (or call any method)
  before adding it to a group through the control API;
* ``chat_member`` updates reach only bots that administer the chat AND list it in allowed_updates;
* allowed_updates filters when updates are created and is remembered between getUpdates calls;
* a bot can write to a private chat only after the user wrote first (or the chat was created);
* webhooks may be plain http:// here, and are delivered one update at a time, in order;
* sendPhoto keeps an upload byte for byte (getFile + the file URL, or /control/files/{file_id}/content,
  give it back); a photo sent by URL is not fetched.
"""

from bot.sandbox.client import SandboxClient, SandboxError
from bot.sandbox.server import SandboxServer, run_sandbox
from bot.sandbox.world import World

__all__ = ["SandboxClient", "SandboxError", "SandboxServer", "World", "run_sandbox"]
