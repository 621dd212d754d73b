"""The demo's WeCom (企业微信) hour: the same station, through the fake WeCom and its real callbacks.

李经理 also works in WeCom (userid lijingli): a customer group of his is announced by a change_external_chat
callback, he binds it from the app's 1:1 chat, a customer writes to the station's 微信客服 account and gets a
ticket, and an announcement reaches both the Telegram group and, as a 群发 task he confirms, the WeCom group.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console

from bot.sandbox.wecom_client import WecomSandboxClient
from bot.service import Running
from bot.wecom_channel import WecomChannel

OWNER, OWNER_NAME = "lijingli", "李经理（企业微信）"
SUN, ZHOU = "wmSunNaiNai00000000000000001", "wmZhouShu0000000000000000002"
GROUP = "wrDemoXingfuVillage000000001"


class WecomScript:
    def __init__(self, running: Running, console: Console, failures: list[str]) -> None:
        assert running.wecom is not None and running.wecom_sandbox is not None
        self.channel: WecomChannel = running.wecom
        self.control = WecomSandboxClient(running.wecom_sandbox.base_url)
        self.console, self.failures = console, failures

    async def expect(self, read: Callable[[], Awaitable[list[str]]], needle: str, where: str, step: str) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            await self.channel.adapter.idle()
            found = next((text for text in await read() if needle in text), None)
            if found is not None:
                self.console.print(f"[magenta]\\[{where}][/magenta] 助手: {found}")
                return
            await asyncio.sleep(0.05)
        self.failures.append(f"{step}: nothing with {needle!r} in {where}")

    async def app_texts(self) -> list[str]:
        return [m["content"] for m in await self.control.app_messages(OWNER)]

    async def kf_texts(self) -> list[str]:
        return [m["content"] for m in await self.control.kf_sent(SUN)]

    async def staff_says(self, text: str) -> None:
        self.console.print(f"[magenta]\\[企业微信 李经理 ↔ 助手][/magenta] [bold]李经理[/bold]: {text}")
        await self.control.staff_message(OWNER, text)


async def wecom_hour(running: Running, console: Console, failures: list[str],
                     telegram_expect: Callable[[str, str], Awaitable[Any]]) -> None:
    s = WecomScript(running, console, failures)
    try:
        console.rule("12:10 企业微信：李经理的客户群、微信客服客户、群发任务")
        await s.control.add_staff(OWNER, OWNER_NAME)
        for external, name in ((SUN, "孙奶奶"), (ZHOU, "周叔")):
            await s.control.add_customer(name, external)
        await s.control.create_group(OWNER, "幸福村企业微信群", members=[OWNER, SUN, ZHOU], chat_id=GROUP)
        console.print("[magenta]\\[企业微信][/magenta] 李经理建了客户群「幸福村企业微信群」（3 人）"
                      "→ 回调 change_external_chat")
        await s.staff_says("/bind 幸福村企业微信群 幸福村台区")
        await s.expect(s.app_texts, "幸福村台区", "企业微信 李经理 ↔ 助手", "bind the WeCom group from the app")

        account = await s.control.add_kf_account("示范供电所客服")
        console.print("[magenta]\\[微信客服][/magenta] [bold]孙奶奶[/bold]: 我家停电了，在幸福村5组，麻烦来看看")
        await s.control.kf_customer_message(account["open_kfid"], SUN, "我家停电了，在幸福村5组，麻烦来看看")
        await s.expect(s.kf_texts, "工单号", "微信客服 孙奶奶", "a 微信客服 message becomes a ticket")

        await s.staff_says("/notice announcement 幸福村台区 本周六上午9点在村委会开展安全用电宣传，欢迎参加")
        await telegram_expect("安全用电宣传", "the Telegram group gets the announcement")
        await s.channel.delivery.drain()
        templates = await s.control.templates()
        if not templates:
            failures.append("the WeCom group got no 群发 task")
            return
        console.print(f"[magenta]\\[企业微信][/magenta] 群发任务 {templates[-1]['msgid'][:12]}… 等待李经理确认"
                      f"（{len(templates[-1]['chat_id_list'])} 个客户群）")
        await s.control.confirm_template(templates[-1]["msgid"], OWNER)
        console.print("[magenta]\\[企业微信][/magenta] 李经理在手机上点了「发送」")
        await s.channel.delivery.follow_up()
        await s.staff_says("/notice 2")
        await s.expect(s.app_texts, "企业微信群发：已发送 1", "企业微信 李经理 ↔ 助手", "the 群发 is read back")
    finally:
        await s.control.aclose()
