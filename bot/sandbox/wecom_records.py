"""The records the fake WeCom keeps (bot.sandbox.wecom_world), each with its JSON view for the control API."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

JSON = dict[str, Any]


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

    def view(self) -> JSON:
        return {
            "msgid": self.msgid,
            "open_kfid": self.open_kfid,
            "external_userid": self.external_userid,
            "send_time": self.send_time,
            "origin": 3,  # 3 = sent by the WeChat customer
            "msgtype": "text",
            "text": {"content": self.content},
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
    kind: str  # change_external_chat:<detail>, text, kf_msg_or_event
    xml: str
    time: float
    dropped: bool = False
    repeat: int = 1
    deliveries: list[JSON] = field(default_factory=list)
    note: str = ""  # "dropped", "no callback target", "delivered"

    def view(self) -> JSON:
        return asdict(self)
