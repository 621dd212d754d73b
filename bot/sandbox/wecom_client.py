"""WecomSandboxClient: async httpx wrapper around the fake WeCom's control API (bot.sandbox.wecom_control).

Also re-exports ``WecomCallbacks`` (the callback pusher, bot.sandbox.wecom_callbacks). World-changing
methods accept ``drop`` (WeCom loses the callback) and ``repeat`` (the same callback delivered N times);
their result has ``callbacks``: what was announced and what each delivery answered.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import httpx

from bot.sandbox.wecom_callbacks import Delivery, PreparedCallback, WecomCallbacks

JSON = dict[str, Any]

__all__ = ["Delivery", "PreparedCallback", "WecomCallbacks", "WecomSandboxClient", "WecomSandboxError"]


class WecomSandboxError(Exception):
    """A control call was refused (400: bad arguments, 404: unknown user, group, template, ...)."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(f"{code}: {description}")
        self.code, self.description = code, description


def _clean(**values: Any) -> JSON:
    return {k: v for k, v in values.items() if v is not None}


def _announce(drop: bool, repeat: int) -> JSON:
    return {"drop": drop, "repeat": repeat}


class WecomSandboxClient:
    """Drive the fake WeCom: staff, customers, groups, kf, robots; inspect what the bot sent."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=f"{self.base_url}/control", timeout=timeout)

    async def __aenter__(self) -> WecomSandboxClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _call(self, verb: str, path: str, body: JSON | None = None, query: JSON | None = None) -> Any:
        response = await self._http.request(verb, path, json=body, params=_clean(**(query or {})))
        data = response.json()
        if not data.get("ok"):
            raise WecomSandboxError(data.get("error_code", response.status_code), data.get("description", ""))
        return data["result"]

    # --- world ------------------------------------------------------------------------------------
    async def health(self) -> JSON:
        return await self._call("GET", "/health")

    async def reset(self) -> None:
        await self._call("POST", "/reset")

    async def state(self) -> JSON:
        return await self._call("GET", "/state")

    async def configure_corp(
        self,
        corp_id: str | None = None,
        secret: str | None = None,
        agent_id: int | None = None,
        app_msg_overflow: str | None = None,
    ) -> JSON:
        """Returns {corp_id, secret, agent_id, app_msg_overflow}; call with no argument to read them."""
        body = _clean(corp_id=corp_id, secret=secret, agent_id=agent_id, app_msg_overflow=app_msg_overflow)
        return await self._call("POST", "/corp", body)

    async def advance_clock(self, seconds: float) -> JSON:
        """Move the fake's time forward (token expiry, rate windows, the kf 48-hour window)."""
        return await self._call("POST", "/clock", {"advance": seconds})

    # --- directory ----------------------------------------------------------------------------------
    async def add_staff(self, userid: str, name: str | None = None) -> JSON:
        return await self._call("POST", "/users", _clean(userid=userid, name=name))

    async def add_customer(self, name: str, external_userid: str | None = None) -> JSON:
        """Returns {external_userid, name} (a "wm..." id unless given)."""
        return await self._call("POST", "/customers", _clean(name=name, external_userid=external_userid))

    # --- customer groups ----------------------------------------------------------------------------
    async def create_group(
        self,
        owner: str,
        name: str = "",
        members: list[str | JSON] | None = None,
        notice: str = "",
        chat_id: str | None = None,
        drop: bool = False,
        repeat: int = 1,
    ) -> JSON:
        """members: userids / external_userids, or {userid, join_scene, invitor, join_time}."""
        body = _clean(owner=owner, name=name, members=members, notice=notice, chat_id=chat_id)
        return await self._call("POST", "/groups", {**body, **_announce(drop, repeat)})

    async def groups(self) -> list[JSON]:
        return await self._call("GET", "/groups")

    async def group(self, chat_id: str) -> JSON:
        return await self._call("GET", f"/groups/{chat_id}")

    async def add_members(
        self,
        chat_id: str,
        userids: list[str],
        join_scene: int = 1,
        invitor: str | None = None,
        drop: bool = False,
        repeat: int = 1,
    ) -> JSON:
        """join_scene: 1 invited, 2 invitation link, 3 group QR code."""
        body = _clean(userids=userids, join_scene=join_scene, invitor=invitor)
        return await self._call("POST", f"/groups/{chat_id}/members", {**body, **_announce(drop, repeat)})

    async def remove_members(
        self, chat_id: str, userids: list[str], quit_scene: int = 0, drop: bool = False, repeat: int = 1
    ) -> JSON:
        """quit_scene: 0 left by themselves, 1 removed by the owner or an admin."""
        body = {"userids": userids, "quit_scene": quit_scene, **_announce(drop, repeat)}
        return await self._call("POST", f"/groups/{chat_id}/members/remove", body)

    async def change_owner(self, chat_id: str, userid: str, drop: bool = False, repeat: int = 1) -> JSON:
        return await self._call("POST", f"/groups/{chat_id}/owner", {"userid": userid, **_announce(drop, repeat)})

    async def rename_group(self, chat_id: str, name: str, drop: bool = False, repeat: int = 1) -> JSON:
        return await self._call("POST", f"/groups/{chat_id}/name", {"name": name, **_announce(drop, repeat)})

    async def set_notice(self, chat_id: str, notice: str, drop: bool = False, repeat: int = 1) -> JSON:
        return await self._call("POST", f"/groups/{chat_id}/notice", {"notice": notice, **_announce(drop, repeat)})

    async def dismiss_group(self, chat_id: str, drop: bool = False, repeat: int = 1) -> JSON:
        return await self._call("POST", f"/groups/{chat_id}/dismiss", _announce(drop, repeat))

    async def set_group_cap(self, chat_id: str, cap: int) -> JSON:
        """How many 群发 messages the group may receive per month (default: the days of the month)."""
        return await self._call("POST", f"/groups/{chat_id}/cap", {"cap": cap})

    # --- messages ------------------------------------------------------------------------------------
    async def staff_message(self, userid: str, content: str, drop: bool = False, repeat: int = 1) -> JSON:
        """A staff member writes to the app: pushes the text-message callback."""
        body = {"userid": userid, "content": content, **_announce(drop, repeat)}
        return await self._call("POST", "/staff_messages", body)

    async def app_messages(self, userid: str | None = None) -> list[JSON]:
        """message/send calls: {msgid, agentid, touser, msgtype, content, payload, time, invaliduser, dropped}
        (a template card's payload is the card: its task_id and button_list [{text, style, key}])."""
        return await self._call("GET", "/app_messages", query={"userid": userid})

    async def press_card_button(self, userid: str, task_id: str, key: str, drop: bool = False, repeat: int = 1) -> JSON:
        """``userid`` presses the button ``key`` of the template card ``task_id`` the app sent them: pushes
        template_card_event; returns {userid, task_id, key, response_code, callbacks}. Refused (404/400) for
        an unknown task_id, a card not sent to ``userid`` or a key not among its buttons."""
        body = {"userid": userid, "task_id": task_id, "key": key, **_announce(drop, repeat)}
        return await self._call("POST", "/cards/press", body)

    # --- 群发 ------------------------------------------------------------------------------------------
    async def templates(self) -> list[JSON]:
        """add_msg_template calls, each with its ``tasks`` and per-group ``results``."""
        return await self._call("GET", "/templates")

    async def confirm_template(self, msgid: str, userid: str | None = None) -> list[JSON]:
        """The owner presses "send": task -> 2, each group's result -> 1 (or 3 when over its monthly cap)."""
        return await self._call("POST", f"/templates/{msgid}/confirm", _clean(userid=userid))

    async def reminders(self) -> list[JSON]:
        return await self._call("GET", "/reminders")

    # --- 微信客服 ---------------------------------------------------------------------------------------
    async def add_kf_account(self, name: str, open_kfid: str | None = None) -> JSON:
        return await self._call("POST", "/kf/accounts", _clean(name=name, open_kfid=open_kfid))

    async def kf_customer_message(
        self, open_kfid: str, external_userid: str, content: str, drop: bool = False, repeat: int = 1
    ) -> JSON:
        """A WeChat customer writes: stored for kf/sync_msg, pushes kf_msg_or_event; returns the message."""
        body = {"open_kfid": open_kfid, "external_userid": external_userid, "content": content}
        return await self._call("POST", "/kf/messages", {**body, **_announce(drop, repeat)})

    async def kf_menu_click(
        self, open_kfid: str, external_userid: str, menu_id: str, drop: bool = False, repeat: int = 1
    ) -> JSON:
        """The customer taps the item ``menu_id`` of a menu (msgmenu) ``open_kfid`` sent them: a customer
        message (text = the item's content, with menu_id) like kf_customer_message's; refused (400) when no
        such menu item was sent to them on that account."""
        body = {"open_kfid": open_kfid, "external_userid": external_userid, "menu_id": menu_id}
        return await self._call("POST", "/kf/menu_clicks", {**body, **_announce(drop, repeat)})

    async def kf_sent(self, touser: str | None = None) -> list[JSON]:
        """kf/send_msg calls: {msgid, open_kfid, touser, msgtype, content, time} (msgmenu: + head_content,
        menu [{id, content}], tail_content)."""
        return await self._call("GET", "/kf/sent", query={"touser": touser})

    # --- robots -----------------------------------------------------------------------------------------
    async def add_robot(self, name: str = "robot", key: str | None = None) -> JSON:
        """Returns {key, name}; the webhook is ``{base_url}/cgi-bin/webhook/send?key=KEY``."""
        return await self._call("POST", "/robots", _clean(name=name, key=key))

    async def robot_messages(self, key: str | None = None) -> list[JSON]:
        return await self._call("GET", "/robot_messages", query={"key": key})

    # --- faults, tokens, calls -----------------------------------------------------------------------
    async def inject_failure(
        self,
        path: str,
        count: int = 1,
        errcode: int | None = None,
        http_status: int | None = None,
        errmsg: str | None = None,
    ) -> JSON:
        """The next ``count`` calls to ``path`` ("message/send", "gettoken", ... or "*") answer ``errcode``
        (e.g. -1, 45009, 42001) or the HTTP status (e.g. 502)."""
        body = _clean(path=path, count=count, errcode=errcode, http_status=http_status, errmsg=errmsg)
        return await self._call("POST", "/faults", body)

    async def faults(self) -> list[JSON]:
        return await self._call("GET", "/faults")

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/faults")

    async def expire_tokens(self) -> int:
        return (await self._call("POST", "/tokens/expire"))["expired"]

    async def calls(self, path: str | None = None) -> JSON:
        """{counts: {path: n}, log: [{seq, path, errcode | http_status, time}]}."""
        return await self._call("GET", "/calls", query={"path": path})

    async def gettoken_calls(self) -> int:
        return int((await self.calls())["counts"].get("gettoken", 0))

    # --- callbacks -------------------------------------------------------------------------------------
    async def set_callback(self, url: str, token: str, encoding_aes_key: str) -> JSON:
        return await self._call("POST", "/callback", {"url": url, "token": token, "encoding_aes_key": encoding_aes_key})

    async def clear_callback(self) -> None:
        await self._call("DELETE", "/callback")

    async def verify_callback(self) -> JSON:
        """WeCom's URL verification against the configured target: {ok, status, body, expected, error}."""
        return await self._call("POST", "/callback/verify")

    async def callbacks(self, kind: str | None = None) -> list[JSON]:
        """Every announced callback: {seq, kind, xml, time, dropped, repeat, deliveries, note}."""
        return await self._call("GET", "/callbacks", query={"kind": kind})
