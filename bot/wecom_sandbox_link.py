"""`gridbot run --sandbox` with WeCom: the fake WeCom API server, a corp for it, and our settings pointed at it.

The credentials below are the sandbox's own, not secrets: they only open the fake on 127.0.0.1.
"""

from __future__ import annotations

from pydantic import SecretStr

from bot.sandbox.wecom_api import WecomSandbox
from bot.sandbox.wecom_client import WecomSandboxClient
from config.settings import WecomSettings

SANDBOX_CORP_ID = "wwsandbox0000000001"
SANDBOX_SECRET = "sandbox-secret-not-secret"
SANDBOX_AGENT_ID = 1000002
SANDBOX_TOKEN = "sandboxCallbackToken"
SANDBOX_AES_KEY = "S" * 43  # any 43 letters or digits are a valid EncodingAESKey

__all__ = ["WecomSandbox", "point_callbacks", "start_wecom_sandbox"]


async def start_wecom_sandbox(server: WecomSandbox, current: WecomSettings) -> WecomSettings:
    """Start the fake WeCom with the sandbox corp; our WeCom settings, pointed at it."""
    base = await server.start()
    async with WecomSandboxClient(base) as control:
        await control.configure_corp(SANDBOX_CORP_ID, SANDBOX_SECRET, SANDBOX_AGENT_ID)
    return current.model_copy(update={
        "corp_id": SANDBOX_CORP_ID, "agent_id": SANDBOX_AGENT_ID, "secret": SecretStr(SANDBOX_SECRET),
        "token": SecretStr(SANDBOX_TOKEN), "aes_key": SecretStr(SANDBOX_AES_KEY),
        "api_base_url": server.api_base_url})


async def point_callbacks(server: WecomSandbox, url: str) -> None:
    """The fake pushes its callbacks to our endpoint, encrypted as WeCom does."""
    async with WecomSandboxClient(server.base_url) as control:
        await control.set_callback(url, SANDBOX_TOKEN, SANDBOX_AES_KEY)
