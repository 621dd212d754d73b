"""The directory and customer groups (客户群) of the fake WeCom, and the callbacks their changes announce.

``GroupWorld`` is the base of bot.sandbox.wecom_world.World. ``random_id`` makes the ids it hands out;
the API pages its lists with opaque cursors (positions in them: ``encode_cursor``, ``decode_cursor``,
``page_of``). Every change WeCom would announce queues its plain callback XML with ``announce``
(``drop``: the callback is lost on the way; ``repeat``: WeCom's retries deliver the same body that many
times); the HTTP layer takes ``pending`` and pushes them.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import string
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from bot.sandbox import wecom_xml
from bot.sandbox.wecom_records import JSON, CallbackRecord, CallbackTarget, Customer, Group, Member, Staff, bad_param

_ALPHABET = string.ascii_letters + string.digits


def random_id(prefix: str, length: int = 22) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def encode_cursor(position: int) -> str:
    """An opaque cursor (WeCom's are opaque strings too) for ``position`` in a list."""
    return base64.urlsafe_b64encode(f"sandbox:{position}".encode()).decode().rstrip("=")


def decode_cursor(cursor: Any) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(str(cursor) + "=" * (-len(str(cursor)) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "sandbox":
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error) as exc:
        raise bad_param("cursor") from exc


def limit_of(body: JSON, default: int, top: int = 1000) -> int:
    try:
        limit = int(body.get("limit", default))
    except (TypeError, ValueError) as exc:
        raise bad_param("limit") from exc
    if not 1 <= limit <= top:
        raise bad_param(f"limit must be 1..{top}")
    return limit


def page_of(items: list[Any], body: JSON, default_limit: int) -> tuple[list[Any], str]:
    start, limit = decode_cursor(body.get("cursor")), limit_of(body, default_limit)
    page = items[start : start + limit]
    return page, encode_cursor(start + limit) if start + limit < len(items) else ""


class GroupWorld:
    """Clock, corp, staff, customers, groups and the callback queue."""

    def __init__(self, clock: Callable[[], float] = time.time, max_log: int = 20_000) -> None:
        self.clock, self.offset, self.max_log = clock, 0.0, max_log
        self.corp_id, self.secret, self.agent_id = "wwsandbox0000000001", "sandbox-app-secret", 1000002
        self._seq = 0
        self.reset_groups()

    def reset_groups(self) -> None:
        self.staff: dict[str, Staff] = {}
        self.customers: dict[str, Customer] = {}
        self.groups: dict[str, Group] = {}
        self.callback: CallbackTarget | None = None
        self.callbacks: deque[CallbackRecord] = deque(maxlen=self.max_log)
        self.pending: list[CallbackRecord] = []

    # --- time and ids ---------------------------------------------------------------------------
    def now(self) -> float:
        return self.clock() + self.offset

    def advance(self, seconds: float) -> float:
        """Move the fake's time forward (token expiry, rate windows, the kf 48-hour window)."""
        self.offset += seconds
        return self.now()

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    # --- directory --------------------------------------------------------------------------------
    def add_staff(self, userid: str, name: str | None = None) -> Staff:
        self.staff[userid] = Staff(userid, name or userid)
        return self.staff[userid]

    def add_customer(self, name: str, external_userid: str | None = None) -> Customer:
        customer = Customer(external_userid or random_id("wm", 26), name)
        self.customers[customer.external_userid] = customer
        return customer

    def display_name(self, userid: str) -> str:
        person = self.staff.get(userid) or self.customers.get(userid)
        return person.name if person else userid

    def member_type(self, userid: str) -> int:
        if userid in self.staff:
            return 1
        if userid in self.customers:
            return 2
        raise KeyError(f"{userid!r} is neither a staff user nor an external customer")

    # --- customer groups --------------------------------------------------------------------------
    def group(self, chat_id: str, live: bool = True) -> Group:
        found = self.groups.get(chat_id)
        if found is None or (live and found.dismissed):
            raise KeyError(f"no {'live ' if live else ''}group {chat_id!r}")
        return found

    def groups_owned_by(self, userid: str) -> list[Group]:
        return [g for g in self.groups.values() if g.owner == userid and not g.dismissed]

    def create_group(
        self,
        owner: str,
        name: str = "",
        members: list[Any] | None = None,
        notice: str = "",
        chat_id: str | None = None,
        drop: bool = False,
        repeat: int = 1,
    ) -> Group:
        """``members``: userids or {userid, join_scene?, invitor?, join_time?}; the owner is always one."""
        if owner not in self.staff:
            raise KeyError(f"the owner {owner!r} must be a staff user")
        chat_id = chat_id or random_id("wr", 28)
        if chat_id in self.groups:
            raise ValueError(f"group {chat_id!r} already exists")
        now = int(self.now())
        group = Group(chat_id, name, owner, now, notice)
        group.members[owner] = Member(owner, 1, now, 1)
        for spec in members or []:
            member = self._member(spec, now, default_invitor=owner)
            group.members.setdefault(member.userid, member)
        self.groups[chat_id] = group
        self._announce_chat(group, "create", None, drop, repeat)
        return group

    def _member(self, spec: Any, now: int, default_invitor: str | None) -> Member:
        data = {"userid": spec} if isinstance(spec, str) else dict(spec)
        userid = str(data["userid"])
        scene = int(data.get("join_scene", 1))
        if scene not in (1, 2, 3):
            raise ValueError("join_scene is 1 (invited), 2 (invitation link) or 3 (group QR code)")
        invitor = data.get("invitor", default_invitor if scene in (1, 2) else None)
        return Member(userid, self.member_type(userid), int(data.get("join_time", now)), scene, invitor)

    def add_members(
        self,
        chat_id: str,
        members: list[Any],
        join_scene: int = 1,
        invitor: str | None = None,
        drop: bool = False,
        repeat: int = 1,
    ) -> Group:
        """``join_scene`` as groupchat/get shows it (1 invited, 2 link, 3 QR code); the callback's JoinScene
        is 0 (invited, directly or by link) or 3 (QR code), as WeCom documents."""
        group, now = self.group(chat_id), int(self.now())
        before, added = group.member_version(), []
        for spec in members:
            data = {"userid": spec} if isinstance(spec, str) else dict(spec)
            data.setdefault("join_scene", join_scene)
            if invitor is not None:
                data.setdefault("invitor", invitor)
            member = self._member(data, now, default_invitor=group.owner)
            if member.userid not in group.members:
                group.members[member.userid] = member
                added.append(member.userid)
        scene = 3 if join_scene == 3 else 0
        self._announce_chat(group, "update", "add_member", drop, repeat, added, scene, before)
        return group

    def remove_members(
        self, chat_id: str, userids: list[str], quit_scene: int = 0, drop: bool = False, repeat: int = 1
    ) -> Group:
        """``quit_scene``: 0 left by themselves, 1 removed by the owner or an admin."""
        group = self.group(chat_id)
        if group.owner in userids:
            raise ValueError("the owner cannot leave; change the owner or dismiss the group")
        before = group.member_version()
        removed = [u for u in userids if group.members.pop(u, None) is not None]
        self._announce_chat(group, "update", "del_member", drop, repeat, removed, quit_scene, before)
        return group

    def change_owner(self, chat_id: str, userid: str, drop: bool = False, repeat: int = 1) -> Group:
        group = self.group(chat_id)
        if userid not in self.staff:
            raise KeyError(f"the new owner {userid!r} must be a staff user")
        if userid not in group.members:
            group.members[userid] = Member(userid, 1, int(self.now()), 1, group.owner)
        group.owner = userid
        self._announce_chat(group, "update", "change_owner", drop, repeat)
        return group

    def rename(self, chat_id: str, name: str, drop: bool = False, repeat: int = 1) -> Group:
        group = self.group(chat_id)
        group.name = name
        self._announce_chat(group, "update", "change_name", drop, repeat)
        return group

    def set_notice(self, chat_id: str, notice: str, drop: bool = False, repeat: int = 1) -> Group:
        group = self.group(chat_id)
        group.notice = notice
        self._announce_chat(group, "update", "change_notice", drop, repeat)
        return group

    def dismiss(self, chat_id: str, drop: bool = False, repeat: int = 1) -> Group:
        group = self.group(chat_id)
        group.dismissed = True
        self._announce_chat(group, "dismiss", None, drop, repeat)
        return group

    def _announce_chat(
        self,
        group: Group,
        change_type: str,
        detail: str | None,
        drop: bool,
        repeat: int,
        changed: list[str] | None = None,
        scene: int | None = None,
        last_version: str | None = None,
    ) -> None:
        membership = detail in ("add_member", "del_member")
        if membership and not changed:
            return  # nobody joined or left: WeCom announces nothing
        xml = wecom_xml.change_external_chat(
            self.corp_id,
            group.chat_id,
            change_type,
            int(self.now()),
            update_detail=detail,
            join_scene=scene if detail == "add_member" else None,
            quit_scene=scene if detail == "del_member" else None,
            members=changed or [],
            last_mem_ver=last_version if membership else None,
            cur_mem_ver=group.member_version() if membership else None,
        )
        self.announce(f"change_external_chat:{detail or change_type}", xml, drop, repeat)

    # --- callbacks ---------------------------------------------------------------------------------
    def announce(self, kind: str, xml: str, drop: bool = False, repeat: int = 1) -> CallbackRecord:
        """Log a callback and queue it for the HTTP layer (unless ``drop``: WeCom lost it)."""
        if repeat < 1:
            raise ValueError("repeat must be at least 1")
        record = CallbackRecord(self.next_seq(), kind, xml, self.now(), dropped=drop, repeat=repeat)
        if drop:
            record.note = "dropped"
        self.callbacks.append(record)
        self.pending.append(record)
        return record

    def take_pending(self) -> list[CallbackRecord]:
        taken, self.pending = self.pending, []
        return taken

    def staff_says(self, userid: str, content: str, drop: bool = False, repeat: int = 1) -> CallbackRecord:
        """A staff member writes to the app: the plain text-message callback."""
        if userid not in self.staff:
            raise KeyError(f"unknown staff user {userid!r}")
        msg_id = 7_000_000_000_000_000_000 + self.next_seq()
        xml = wecom_xml.app_text(self.corp_id, userid, content, msg_id, self.agent_id, int(self.now()))
        return self.announce("text", xml, drop, repeat)
