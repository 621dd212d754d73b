"""The records the fake WeCom keeps (bot.sandbox.wecom_world), each with its JSON view for the control API,
WecomError, and the content rules of the app messages the bot sends (``app_content``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

JSON = dict[str, Any]
TASK_ID = re.compile(r"[A-Za-z0-9_\-@]{1,128}")  # template card task_id: 数字、字母和“_-@”, at most 128 bytes


class WecomError(Exception):
    """An API answer with a non-zero errcode (WeCom answers those with HTTP 200)."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode, self.errmsg = errcode, errmsg


def bad_param(what: str) -> WecomError:
    return WecomError(40058, f"invalid Request Parameter: {what}")  # 40058 不合法的参数 (generic choice)


# --- what the bot may send -------------------------------------------------------------------------
def app_content(msgtype: str, payload: Any) -> str:
    """message/send: the text a member sees. text/markdown need content, textcard title+description+url,
    template_card a button_interaction card (``card_content``)."""
    if msgtype not in ("text", "markdown", "textcard", "template_card"):
        raise WecomError(
            40008, f"invalid message type {msgtype!r} (the sandbox serves text/markdown/textcard/template_card)"
        )
    if not isinstance(payload, dict):
        raise WecomError(44004, "empty content")
    if msgtype == "template_card":
        return card_content(payload)
    if msgtype == "textcard":
        if not all(payload.get(k) for k in ("title", "description", "url")):
            raise bad_param("textcard needs title, description and url")  # choice
        return f"{payload['title']}\n{payload['description']}"
    content = str(payload.get("content") or "")
    if not content.strip():
        raise WecomError(44004, "empty content")
    return content


def card_content(card: JSON) -> str:
    """A button_interaction template card (按钮交互型): a task_id of 数字、字母、_-@ (at most 128), 1..6 buttons
    each with text and a key unique in the card; title + "\\n" + sub_title_text. Other card types: 40008.
    (Whether the task_id was used before is the caller's business: it is per app.)"""
    if card.get("card_type") != "button_interaction":
        raise WecomError(40008, f"invalid card_type {card.get('card_type')!r} (the sandbox serves button_interaction)")
    if not TASK_ID.fullmatch(str(card.get("task_id") or "")):
        raise bad_param("template_card.task_id is required: 1..128 of letters, digits and _-@")
    buttons = card.get("button_list")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= 6:
        raise bad_param("template_card.button_list holds 1..6 buttons")
    if not all(isinstance(b, dict) and b.get("text") and b.get("key") for b in buttons):
        raise bad_param("every template_card button needs text and key")
    if len({str(b["key"]) for b in buttons}) < len(buttons):
        raise bad_param("template_card button keys must not repeat")
    title = str((card.get("main_title") or {}).get("title") or "")
    subtitle = str(card.get("sub_title_text") or "")
    if not title and not subtitle:
        raise bad_param("template_card needs main_title.title or sub_title_text")  # 必须有一项填写
    return f"{title}\n{subtitle}"


@dataclass
class Staff:
    userid: str
    name: str


@dataclass
class Customer:
    external_userid: str
    name: str


@dataclass
class Member:
    userid: str
    type: int  # 1 = staff (企业成员), 2 = external customer (外部联系人)
    join_time: int
    join_scene: int  # 1 直接邀请, 2 邀请链接, 3 扫描群二维码 (0 is used for the owner/creator)
    invitor: str | None = None
    group_nickname: str = ""


@dataclass
class Group:
    chat_id: str
    name: str
    owner: str
    create_time: int
    notice: str = ""
    members: dict[str, Member] = field(default_factory=dict)
    admins: list[str] = field(default_factory=list)
    dismissed: bool = False

    def member_version(self) -> str:
        """Changes whenever the member list changes (WeCom's member_version / CurMemVer is opaque too)."""
        return hashlib.md5(",".join(sorted(self.members)).encode()).hexdigest()

    def view(self) -> JSON:
        return {
            "chat_id": self.chat_id,
            "name": self.name,
            "owner": self.owner,
            "create_time": self.create_time,
            "notice": self.notice,
            "members": [asdict(m) for m in self.members.values()],
            "admin_list": list(self.admins),
            "member_version": self.member_version(),
            "dismissed": self.dismissed,
        }


@dataclass
class AppMessage:
    msgid: str
    agentid: int
    touser: list[str]
    msgtype: str
    content: str
    payload: JSON
    time: float
    invaliduser: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    def view(self) -> JSON:
        return asdict(self)


@dataclass
class Template:
    msgid: str
    chat_type: str
    sender: str
    chat_id_list: list[str]
    fail_list: list[str]
    text: str
    attachments: list[Any]
    allow_select: bool
    create_time: float

    def view(self) -> JSON:
        return asdict(self)


@dataclass
class Task:
    msgid: str
    userid: str
    status: int = 0  # 0 未发送, 2 已发送
    send_time: int | None = None

    def view(self) -> JSON:
        shown: JSON = {"userid": self.userid, "status": self.status}
        if self.send_time is not None:
            shown["send_time"] = self.send_time
        return shown


@dataclass
class SendResult:
    msgid: str
    chat_id: str
    userid: str
    status: int = 0  # 0 未发送, 1 已发送, 2 因客户不是好友导致发送失败, 3 因客户已经收到其他群发消息导致发送失败
    send_time: int | None = None

    def view(self) -> JSON:
        shown: JSON = {"chat_id": self.chat_id, "userid": self.userid, "status": self.status}
        if self.send_time is not None:
            shown["send_time"] = self.send_time
        return shown


@dataclass
class Reminder:
    msgid: str
    time: float


@dataclass
class KfAccount:
    open_kfid: str
    name: str


@dataclass
class KfMessage:
    seq: int
    msgid: str
    open_kfid: str
    external_userid: str
    send_time: int
    content: str
    menu_id: str | None = None  # a click on a menu item (菜单消息): WeCom shows it as text with menu_id

    def view(self) -> JSON:
        text = {"content": self.content} if self.menu_id is None else {"content": self.content, "menu_id": self.menu_id}
        return {
            "msgid": self.msgid,
            "open_kfid": self.open_kfid,
            "external_userid": self.external_userid,
            "send_time": self.send_time,
            "origin": 3,  # 3 = sent by the WeChat customer
            "msgtype": "text",
            "text": text,
        }


@dataclass
class KfSession:
    """The 48-hour window a customer's message opens; at most 5 replies inside it."""

    last_customer_message: float
    replies: int = 0


@dataclass
class Robot:
    key: str
    name: str


@dataclass
class RobotMessage:
    key: str
    msgtype: str
    content: str
    payload: JSON
    time: float

    def view(self) -> JSON:
        return asdict(self)


@dataclass
class Fault:
    path: str  # "message/send", "gettoken", "webhook/send", ... or "*" for every path
    remaining: int
    errcode: int | None = None
    errmsg: str | None = None
    http_status: int | None = None

    def view(self) -> JSON:
        return asdict(self)


@dataclass
class CallbackTarget:
    url: str
    token: str
    encoding_aes_key: str

    def view(self) -> JSON:
        return asdict(self)


@dataclass
class CallbackRecord:
    """One callback WeCom would send: its plain XML and what became of it."""

    seq: int
    kind: str  # change_external_chat:<detail>, text, template_card_event, kf_msg_or_event
    xml: str
    time: float
    dropped: bool = False
    repeat: int = 1
    deliveries: list[JSON] = field(default_factory=list)
    note: str = ""  # "dropped", "no callback target", "delivered"

    def view(self) -> JSON:
        return asdict(self)
