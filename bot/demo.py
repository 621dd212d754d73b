"""`gridbot demo`: a scripted, offline day in a station through the real stack.

Sandbox Bot API server + the real PTB client + the core + SQLite, all in one process. Every step waits
for what a person would see in the chat; a step that does not happen fails the demo (exit code 1).
With --keep the service stays up on the demo data until Ctrl-C, and the dashboard's (工作看板) address is
printed with a one-time sign-in link for the manager and one for the supervisor.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bot import demo_wecom
from bot.bootstrap import grid_manager, prepare_database
from bot.sandbox import SandboxClient
from bot.service import SANDBOX_BOT_USERNAME, Running, serve
from config.settings import HttpSettings, Settings, TelegramSettings, load_settings
from handlers.commands import web_login
from handlers.context import utc_now
from handlers.kpi import Period, kpi_report
from storage.dashboard import WebAuth
from storage.db import make_engine
from storage.models import Staff
from storage.uow import UnitOfWork

MANAGER, WANG, ZHANG, LIU, CHEN, SUPERVISOR = 900001, 100001, 100002, 100003, 100004, 900010
PEOPLE = {MANAGER: ("李", "经理"), WANG: ("王", "大爷"), ZHANG: ("张", "阿姨"), LIU: ("刘", "师傅"),
          CHEN: ("陈", "姐"), SUPERVISOR: ("赵", "所长")}
console = Console(highlight=False, soft_wrap=True)


@dataclass
class Script:
    control: SandboxClient
    bot_id: int
    chats: dict[int, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    seen: dict[int, int] = field(default_factory=dict)
    last: dict[str, Any] = field(default_factory=dict)  # the message the last expect() found

    def say(self, chat: int, user: int, text: str) -> Any:
        first, last = PEOPLE[user]
        console.print(f"[cyan]\\[{self.chats[chat]}][/cyan] [bold]{first}{last}[/bold]: {text}")
        return self.control.post_message(chat, user, text=text)

    async def expect(self, chat: int, needle: str, step: str, timeout: float = 10.0) -> str | None:
        """Wait for the bot's next message in `chat` that contains `needle`; print it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mine = await self.control.bot_messages(chat)
            for message in mine[self.seen.get(chat, 0):]:
                self.seen[chat] = self.seen.get(chat, 0) + 1
                text = message.get("text", "")
                console.print(f"[cyan]\\[{self.chats[chat]}][/cyan] [green]🤖 数字助手[/green]: {text}")
                if needle in text:
                    self.last = message
                    return str(text)
            await asyncio.sleep(0.05)
        self.failures.append(f"{step}: no bot message containing {needle!r} in {self.chats[chat]}")
        console.print(f"[red]✗ {self.failures[-1]}[/red]")
        return None

    async def press(self, chat: int, user: int, data: str, step: str) -> None:
        """Press a button of the message the last expect() found, as a customer would."""
        label = next((b.get("text", "") for row in (self.last.get("reply_markup") or {}).get("inline_keyboard") or []
                      for b in row if b.get("callback_data") == data), None)
        if label is None:
            self.failures.append(f"{step}: no button {data!r} on the message")
            console.print(f"[red]✗ {self.failures[-1]}[/red]")
            return
        first, last = PEOPLE[user]
        console.print(f"[cyan]\\[{self.chats[chat]}][/cyan] [bold]{first}{last}[/bold] 点了按钮「{label}」")
        await self.control.press_button(chat, int(self.last["message_id"]), user, data=data)

    async def expect_silence(self, chat: int, step: str, wait: float = 1.0) -> None:
        await asyncio.sleep(wait)
        extra = (await self.control.bot_messages(chat))[self.seen.get(chat, 0):]
        if extra:
            self.failures.append(f"{step}: the bot answered chit-chat: {extra[0].get('text')!r}")


def demo_settings(data_dir: Path) -> Settings:
    database = data_dir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    # The script packs a morning into seconds: a group would get more than Telegram's 20 messages a minute,
    # and the bot's own limiter would (rightly) hold them back. A deployment keeps the real limit.
    settings = load_settings(database_url=f"sqlite:///{database}", http=HttpSettings(port=0),
                             telegram=TelegramSettings(group_per_minute=120))
    supervisor = Staff(platform="telegram", user_id=str(SUPERVISOR), name="赵所长", role="supervisor",
                       created_at=utc_now())
    in_wecom = Staff(platform="wecom", user_id=demo_wecom.OWNER, name=demo_wecom.OWNER_NAME, role="grid_manager",
                     grade="高级",
                     created_at=utc_now())
    prepare_database(settings, grid_manager(MANAGER, "李经理", grade="高级"), supervisor, in_wecom)
    return settings


async def _day(running: Running) -> Script:
    assert running.sandbox_url is not None
    control = SandboxClient(running.sandbox_url)
    bot = running.channel.application.bot
    script = Script(control, bot.id)
    for user, (first, last) in PEOPLE.items():
        await control.add_user(user_id=user, first_name=first + last)
    village = (await control.create_group("幸福村客户群", members=[MANAGER, WANG, LIU], creator=MANAGER))["chat"]["id"]
    compound = (await control.create_group("阳光小区客户群", members=[MANAGER], creator=MANAGER))["chat"]["id"]
    private = (await control.create_private_chat(MANAGER))["chat"]["id"]
    await control.create_private_chat(SUPERVISOR)  # where the supervisor's digests and escalations go
    script.chats.update({village: "幸福村客户群", compound: "阳光小区客户群", private: "李经理 ↔ 助手"})
    await _run_script(script, village, compound, private)

    async def telegram_expect(needle: str, step: str) -> None:
        await script.expect(village, needle, step)

    await demo_wecom.wecom_hour(running, console, script.failures, telegram_expect)
    return script


async def _run_script(s: Script, village: int, compound: int, private: int) -> None:
    console.rule("08:00 李经理把助手拉进两个客户群，并绑定台区")
    for chat in (village, compound):
        await s.control.add_bot_to_group(chat, s.bot_id, by=MANAGER, admin=True)
        await s.expect(chat, "数字助手", "bot greets the group")
    await s.say(private, MANAGER, "/start")
    await s.expect(private, "/resolve", "manager sees staff help")
    await s.say(village, MANAGER, "/bind 幸福村台区 rural")
    await s.expect(village, "已绑定台区「幸福村台区」", "bind village")
    await s.say(compound, MANAGER, "/bind 阳光小区台区 city")
    await s.expect(compound, "已绑定台区「阳光小区台区」", "bind compound")

    console.rule("09:00 新客户入群")
    await s.control.join(compound, ZHANG)
    await s.expect(compound, "欢迎", "welcome 张阿姨")
    await s.control.join(compound, CHEN)
    await s.expect(compound, "欢迎", "welcome 陈姐")

    console.rule("10:00 王大爷报停电，张阿姨咨询，刘师傅闲聊")
    await s.say(village, WANG, "家里突然停电了，整个3组都没电，麻烦快来看看")
    await s.expect(village, "工单号 1", "outage becomes ticket 1")
    await s.expect(private, "新工单 1", "manager alerted")
    await s.say(village, WANG, "我的户号是3201234567")
    await s.expect(village, "已补充到您的工单 1", "follow-up joins ticket 1")
    await s.say(village, LIU, "我家也没电了，是不是线路坏了")
    await s.expect(village, "已在处理（工单 1）", "the same fault is linked under ticket 1")
    await s.say(compound, ZHANG, "请问一下峰谷电怎么申请，要带什么材料？")
    await s.expect(compound, "工单号 3", "question becomes ticket 3")
    await s.say(village, LIU, "今天天气不错，晚上一起打牌啊")
    await s.expect_silence(village, "chit-chat stays quiet")

    console.rule("10:10 李经理受理、回复、办结")
    await s.say(private, MANAGER, "/tickets")
    await s.expect(private, "待办工单（2）", "manager lists open tickets")
    await s.say(private, MANAGER, "/ticket 1")
    await s.expect(private, "合并的工单（1）", "manager sees the linked report")
    await s.say(private, MANAGER, "/accept 1")
    await s.expect(village, "已由客户经理李经理受理", "customer told of acceptance")
    await s.say(private, MANAGER, "/reply 1 王大爷您好，抢修师傅已出发，预计20分钟到")
    await s.expect(village, "【工单 1 回复】", "reply posted in the village group")
    await s.say(private, MANAGER, "/arrive 1")
    await s.expect(village, "抢修人员已到达现场", "arrival posted")
    await s.say(private, MANAGER, "/resolve 1 3组低压线路故障已修复，已恢复供电")
    await s.expect(village, "已办结", "resolution posted")
    await s.expect(village, "刘师傅：您报告的故障报修（工单 1）已处理", "the linked customer hears it too")

    console.rule("10:40 回访：王大爷不满意，工单重新打开")
    await s.expect(village, "请为我们的服务打个分", "survey asked")
    survey = s.last
    await s.say(village, LIU, "/resolve 3 我来关")
    await s.expect(village, "仅限工作人员", "customer refused a staff command")
    s.last = survey
    await s.press(village, LIU, "rate:1:5", "another member presses the survey")
    await s.press(village, WANG, "rate:1:2", "customer picks 2")
    await s.expect(village, "您选择了 2 分（不满意）", "explicit confirmation asked")
    await s.press(village, WANG, "rate:1:2:ok", "customer confirms 2")
    await s.expect(village, "已重新交给客户经理处理", "ticket reopened, reason asked")
    question = s.last
    await s.expect(private, "【不满意】工单 1", "manager told of the low rating")
    s.last = question
    await s.press(village, WANG, "why:1:slow", "customer gives the reason")
    await s.expect(private, "不满意的原因：处理太慢", "manager gets the reason")

    console.rule("11:30 李经理再次处理，王大爷满意")
    await s.say(private, MANAGER, "/accept 1")
    await s.expect(village, "已由客户经理李经理受理", "reopened ticket accepted again")
    await s.say(private, MANAGER, "/resolve 1 已上门致歉，并更换了3组的老化接头")
    await s.expect(village, "请为我们的服务打个分", "second survey asked")
    await s.press(village, WANG, "rate:1:5", "customer picks 5")
    await s.expect(village, "您选择了 5 分（满意）", "confirmation asked again")
    await s.press(village, WANG, "rate:1:5:ok", "customer confirms 5")
    await s.expect(village, "感谢您的评价（5 分）", "rating thanked, ticket closed")

    console.rule("11:45 李经理发布下周的计划停电通知")
    day = datetime.now(UTC).date() + timedelta(days=8)
    when = f"{day.month}月{day.day}日8:00-18:00"
    await s.say(private, MANAGER, f"/notice planned 幸福村台区 {when} 10kV线路检修 电话:95598")
    await s.expect(village, "【停电通知】", "the village group gets the outage notice")
    await s.expect(private, "通知 1", "the publisher gets the number and the reminders")

    console.rule("12:00 王大爷查看自己的工单")
    await s.say(village, WANG, "/my")
    await s.expect(village, "工单 1【故障报修】已归档", "customer checks /my")


def _print_kpis(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    today = datetime.now(settings.tz).date()
    with UnitOfWork(engine) as uow:
        report = kpi_report(uow, Period.of(today, today, settings.tz), now=datetime.now(UTC),
                            station_name=settings.station_name)
    engine.dispose()
    table = Table("", "受理", "办结", "重开", "首次响应(分)", "评价", "满意", "均分",
                  title="今日考核（gridbot report kpi）")
    for row in [*report.managers, *report.stations]:
        s = row.satisfaction
        table.add_row(row.name, str(row.opened), str(row.handled), str(row.reopened),
                      "-" if row.first_response.median_minutes is None else f"{row.first_response.median_minutes:.1f}",
                      str(s.count), "-" if s.satisfied_share is None else f"{s.satisfied_share:.0%}",
                      "-" if s.mean_score is None else f"{s.mean_score:.1f}")
    console.print(table)


def _ticket_table(settings: Settings) -> Table:
    engine = make_engine(settings.database_url)
    table = Table("工单", "类别", "状态", "客户", "内容", title="今日工单")
    with UnitOfWork(engine) as uow:
        for ticket in reversed(uow.tickets.list(limit=50)):
            table.add_row(str(ticket.id), ticket.kind, ticket.status, ticket.sender_name, ticket.text[:30])
    engine.dispose()
    return table


def _sign_in_links(running: Running) -> list[tuple[str, str]]:
    """A one-time dashboard link for the demo's manager and supervisor: (name, URL)."""
    ctx, policy = running.channel.core, web_login.policy_of(running.channel.core)
    if policy is None:
        return []
    links = []
    with ctx.uow() as uow:
        for user_id in (MANAGER, SUPERVISOR):
            staff = uow.staff.find("telegram", str(user_id))
            if staff is not None and staff.id is not None:
                links.append((staff.name, web_login.issue_link(WebAuth(uow.session), staff.id, policy, ctx)[1]))
        uow.commit()
    return links


def _print_dashboard(running: Running) -> None:
    policy = web_login.policy_of(running.channel.core)
    if policy is None:
        return
    console.rule("工作看板 (dashboard)")
    console.print(f"工作看板: {running.dashboard_url}/")
    minutes = int(policy.valid_for.total_seconds() // 60)
    for name, url in _sign_in_links(running):
        console.print(f"{name} 的一次性登录链接（{minutes} 分钟内有效）: {url}")
    console.print("链接过期后：在沙盒里以李经理身份私聊助手发送 /login，或用 gridbot staff passwd 设置密码。")


async def run_demo(keep: bool = False, data_dir: Path = Path("data"), stop: asyncio.Event | None = None) -> bool:
    """The scripted day; with `keep` the service stays up afterwards until `stop` is set (Ctrl-C)."""
    settings = demo_settings(data_dir)
    stop = stop or asyncio.Event()
    result: dict[str, Script] = {}

    async def on_ready(running: Running) -> None:
        async def drive() -> None:
            try:
                result["script"] = await _day(running)
            except Exception as exc:
                console.print(f"[red]demo script crashed: {exc!r}[/red]")
            finally:
                if keep:
                    _print_dashboard(running)
                    console.print(f"sandbox control API: {running.sandbox_url}/control — Ctrl-C to stop")
                else:
                    stop.set()

        asyncio.get_running_loop().create_task(drive())

    started = time.monotonic()
    await serve(settings, sandbox=True, on_ready=on_ready, stop=stop)
    script = result.get("script")
    console.print(_ticket_table(settings))
    _print_kpis(settings)
    if script is None:
        console.print("[red]demo failed before the script ran[/red]")
        return False
    for failure in script.failures:
        console.print(f"[red]✗ {failure}[/red]")
    verdict = "[green]demo passed[/green]" if not script.failures else "[red]demo FAILED[/red]"
    console.print(f"{verdict} in {time.monotonic() - started:.1f}s (bot @{SANDBOX_BOT_USERNAME})")
    return not script.failures
