"""In-memory state of the fake WeCom (企业微信). Pure Python, no HTTP.

``World`` = the directory and customer groups of ``GroupWorld`` (bot.sandbox.wecom_groups) plus access
tokens, what the bot sent (app messages and the template cards among them, 群发 templates with their tasks
and per-group results, reminders, 微信客服 messages and menus, group-robot messages), the 微信客服 inbox,
injected faults, rate windows and call counters; and what staff and customers do with the cards and menus
(``press_card_button``, ``kf_menu_click``). The API rules (errcodes, limits) are in bot.sandbox.wecom_ops.
"""

from __future__ import annotations

import calendar
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.sandbox import wecom_xml
from bot.sandbox.wecom_groups import GroupWorld, random_id
from bot.sandbox.wecom_records import (
    AppMessage,
    CallbackRecord,
    Fault,
    KfAccount,
    KfMessage,
    KfSession,
    Reminder,
    Robot,
    RobotMessage,
    SendResult,
    Task,
    Template,
    WecomError,
)

JSON = dict[str, Any]

__all__ = ["JSON", "Token", "WecomError", "World", "random_id"]


class Token:
    def __init__(self, value: str, expires_at: float) -> None:
        self.value, self.expires_at = value, expires_at


class World(GroupWorld):
    """All fake-WeCom state. ``reset()`` forgets everything but the corp settings and the clock offset."""

    TOKEN_LIFETIME = 7200
    KF_WINDOW = 48 * 3600  # a customer's message opens a 48-hour window ...
    KF_REPLIES = 5  # ... for at most 5 messages to that customer

    def __init__(self, clock: Callable[[], float] = time.time, max_log: int = 20_000) -> None:
        super().__init__(clock, max_log)
        self.reset()

    def reset(self) -> None:
        self.reset_groups()
        self.tokens: dict[str, Token] = {}
        self.app_messages: list[AppMessage] = []
        self.card_tasks: dict[tuple[int, str], AppMessage] = {}  # (agentid, task_id) -> the card sent
        self.templates: dict[str, Template] = {}
        self.tasks: list[Task] = []
        self.send_results: list[SendResult] = []
        self.reminders: list[Reminder] = []
        self.group_caps: dict[str, int] = {}
        self.kf_accounts: dict[str, KfAccount] = {}
        self.kf_inbox: list[KfMessage] = []
        self.kf_sent: list[JSON] = []
        self.kf_sessions: dict[tuple[str, str], KfSession] = {}
        self.robots: dict[str, Robot] = {}
        self.robot_messages: list[RobotMessage] = []
        self.faults: list[Fault] = []
        self.calls: Counter[str] = Counter()
        self.call_log: deque[JSON] = deque(maxlen=self.max_log)
        self.rate: dict[str, deque[float]] = {}
        # Over 30 app messages a minute to one member: "error" answers 45009 (what the brief asks for, and
        # what wechatpy turns into APILimitedException); "drop" is WeCom's documented behaviour (频率限制
        # page: "超过部分会被丢弃不下发"): errcode 0, the excess recorded in AppMessage.dropped.
        self.app_msg_overflow = "error"

    # --- tokens ---------------------------------------------------------------------------------
    def issue_token(self) -> tuple[str, int]:
        """The live token again while it lives (WeCom: 有效期内重复获取返回相同结果), else a new one."""
        now = self.now()
        for token in self.tokens.values():
            if token.expires_at > now:
                return token.value, int(token.expires_at - now)
        token = Token(secrets.token_urlsafe(48), now + self.TOKEN_LIFETIME)
        self.tokens[token.value] = token
        return token.value, self.TOKEN_LIFETIME

    def check_token(self, value: str | None) -> None:
        if not value:
            raise WecomError(41001, "access_token missing")
        token = self.tokens.get(value)
        if token is None:
            raise WecomError(40014, "invalid access_token")
        if token.expires_at <= self.now():
            raise WecomError(42001, "access_token expired")

    def expire_tokens(self) -> int:
        now = self.now()
        for token in self.tokens.values():
            token.expires_at = min(token.expires_at, now - 1)
        return len(self.tokens)

    # --- faults, rates ----------------------------------------------------------------------------
    def add_fault(
        self,
        path: str,
        count: int = 1,
        errcode: int | None = None,
        errmsg: str | None = None,
        http_status: int | None = None,
    ) -> Fault:
        if (errcode is None) == (http_status is None):
            raise ValueError("a fault has either an errcode or an http_status")
        fault = Fault(path.strip("/").removeprefix("cgi-bin/"), count, errcode, errmsg, http_status)
        self.faults.append(fault)
        return fault

    def take_fault(self, path: str) -> Fault | None:
        for fault in self.faults:
            if fault.path in (path, "*"):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def within_rate(self, key: str, limit: int, window: float = 60.0, record: bool = True) -> bool:
        """Sliding window: True (and counted, if ``record``) when fewer than ``limit`` hits in ``window``."""
        hits = self.rate.setdefault(key, deque())
        now = self.now()
        while hits and hits[0] <= now - window:
            hits.popleft()
        if len(hits) >= limit:
            return False
        if record:
            hits.append(now)
        return True

    # --- 群发 (message templates) -----------------------------------------------------------------
    def group_cap(self, chat_id: str) -> int:
        """Templates a group may receive per month: set per group, else the days of the current month
        (WeCom's default rule: 每个客户群每月最多可接收条数为当月天数)."""
        if chat_id in self.group_caps:
            return self.group_caps[chat_id]
        today = datetime.fromtimestamp(self.now())
        return calendar.monthrange(today.year, today.month)[1]

    def received_this_month(self, chat_id: str) -> int:
        today = datetime.fromtimestamp(self.now())
        count = 0
        for result in self.send_results:
            if result.chat_id == chat_id and result.status == 1 and result.send_time is not None:
                sent = datetime.fromtimestamp(result.send_time)
                count += (sent.year, sent.month) == (today.year, today.month)
        return count

    def confirm_template(self, msgid: str, userid: str | None = None) -> list[SendResult]:
        """The owner presses "send" in the WeCom app: the task becomes 2 (sent), each of its groups 1 (sent)
        or 3 (the group already received its monthly quota)."""
        template = self.templates.get(msgid)
        if template is None:
            raise KeyError(f"unknown template {msgid!r}")
        userid = userid or template.sender
        task = next((t for t in self.tasks if t.msgid == msgid and t.userid == userid), None)
        if task is None:
            raise KeyError(f"{userid!r} has no task for {msgid!r}")
        if task.status == 2:
            raise ValueError(f"{userid!r} already sent {msgid!r}")
        now = int(self.now())
        task.status, task.send_time = 2, now
        results = [r for r in self.send_results if r.msgid == msgid and r.userid == userid]
        for result in results:
            full = self.received_this_month(result.chat_id) >= self.group_cap(result.chat_id)
            result.status, result.send_time = (3, None) if full else (1, now)
        return results

    def remind(self, msgid: str) -> Reminder:
        reminder = Reminder(msgid, self.now())
        self.reminders.append(reminder)
        return reminder

    # --- 微信客服 -----------------------------------------------------------------------------------
    def add_kf_account(self, name: str, open_kfid: str | None = None) -> KfAccount:
        account = KfAccount(open_kfid or random_id("wk", 26), name)
        self.kf_accounts[account.open_kfid] = account
        return account

    def kf_customer_says(
        self,
        open_kfid: str,
        external_userid: str,
        content: str,
        drop: bool = False,
        repeat: int = 1,
        menu_id: str | None = None,
    ) -> tuple[KfMessage, CallbackRecord]:
        """A WeChat customer writes to a kf account (or clicks the menu item ``menu_id``): stored for
        kf/sync_msg, opens a new 48-hour window of 5 replies, and announces ``kf_msg_or_event``."""
        if open_kfid not in self.kf_accounts:
            raise KeyError(f"unknown kf account {open_kfid!r}")
        if external_userid not in self.customers:
            raise KeyError(f"unknown customer {external_userid!r}")
        now = self.now()
        seq = self.next_seq()
        message = KfMessage(seq, random_id("kfmsg", 24), open_kfid, external_userid, int(now), content, menu_id)
        self.kf_inbox.append(message)
        self.kf_sessions[(open_kfid, external_userid)] = KfSession(now)
        token = "ENC" + secrets.token_urlsafe(32)
        xml = wecom_xml.kf_msg_or_event(self.corp_id, token, open_kfid, int(now))
        return message, self.announce("kf_msg_or_event", xml, drop, repeat)

    def kf_menu_click(
        self, open_kfid: str, external_userid: str, menu_id: str, drop: bool = False, repeat: int = 1
    ) -> tuple[KfMessage, CallbackRecord]:
        """The customer taps the item ``menu_id`` of a menu (msgmenu) the account sent them (the latest such
        menu): a customer message whose text is the item's content, with ``menu_id``."""
        if open_kfid not in self.kf_accounts:
            raise KeyError(f"unknown kf account {open_kfid!r}")
        if external_userid not in self.customers:
            raise KeyError(f"unknown customer {external_userid!r}")
        for sent in reversed(self.kf_sent):
            if (sent["open_kfid"], sent["touser"]) == (open_kfid, external_userid):
                item = next((i for i in sent.get("menu", []) if i["id"] == menu_id), None)
                if item is not None:
                    return self.kf_customer_says(open_kfid, external_userid, item["content"], drop, repeat, menu_id)
        raise ValueError(f"{open_kfid!r} sent {external_userid!r} no menu with an item {menu_id!r}")

    # --- template cards ---------------------------------------------------------------------------
    def press_card_button(
        self, userid: str, task_id: str, key: str, drop: bool = False, repeat: int = 1
    ) -> tuple[str, CallbackRecord]:
        """A staff member presses the button ``key`` of the card ``task_id`` the app sent them: announces
        ``template_card_event``; returns its ResponseCode."""
        if userid not in self.staff:
            raise KeyError(f"unknown staff user {userid!r}")
        card = self.card_tasks.get((self.agent_id, task_id))
        if card is None:
            raise KeyError(f"the app sent no template card with task_id {task_id!r}")
        if userid not in card.touser:
            raise ValueError(f"the template card {task_id!r} was not sent to {userid!r}")
        keys = [str(b["key"]) for b in card.payload["button_list"]]
        if key not in keys:
            raise ValueError(f"the template card {task_id!r} has no button {key!r} (its keys: {keys})")
        code = random_id("", 43)
        xml = wecom_xml.template_card_event(self.corp_id, userid, key, task_id, code, self.agent_id, int(self.now()))
        return code, self.announce("template_card_event", xml, drop, repeat)

    # --- group robots -------------------------------------------------------------------------------
    def add_robot(self, name: str = "robot", key: str | None = None) -> Robot:
        robot = Robot(key or secrets.token_hex(16), name)
        self.robots[robot.key] = robot
        return robot
