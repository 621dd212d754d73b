"""Control API of the fake WeCom: JSON under ``/control``, for tests, demos and benchmarks.

Bodies are JSON objects (query parameters are merged in). Answers are ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": 400|404, "description": "..."}``. Changes WeCom announces push the encrypted
callback to the configured target before the answer returns; their result then carries ``callbacks``
(one record per announcement: kind, xml, dropped, repeat, deliveries [{status, body, elapsed, error}],
note). Options on those routes: ``drop`` (the callback is lost) and ``repeat`` (delivered N times). The HTTP
side (parsing, errors, pushing the callbacks) is bot.sandbox.wecom_api's.

World      GET /health · POST /reset · GET /state · GET|POST /corp {corp_id, secret, agent_id,
           app_msg_overflow: error|drop} · GET|POST /clock {advance: seconds}
Directory  POST /users {userid, name} · GET /users · POST /customers {name, external_userid?} · GET /customers
Groups     POST /groups {owner, name, members?, notice?, chat_id?} · GET /groups · GET /groups/{chat_id}
           POST /groups/{chat_id}/members {userids, join_scene?, invitor?} · .../members/remove {userids,
           quit_scene?} · .../owner {userid} · .../name {name} · .../notice {notice} · .../dismiss ·
           .../cap {cap} (monthly 群发 cap)
Messages   POST /staff_messages {userid, content} (app text callback) · GET /app_messages ?userid=
           (template cards: msgtype template_card, payload = the card) · POST /cards/press {userid, task_id,
           key} (a button press: template_card_event callback; result {..., response_code})
群发        GET /templates (with tasks and send results) · POST /templates/{msgid}/confirm {userid?} ·
           GET /reminders
微信客服    POST /kf/accounts {name, open_kfid?} · POST /kf/messages {open_kfid, external_userid, content}
           · POST /kf/menu_clicks {open_kfid, external_userid, menu_id} (a tap on a msgmenu item the account
           sent that customer) · GET /kf/sent ?touser= (msgmenu ones carry head_content, menu, tail_content)
Robots     POST /robots {name?, key?} · GET /robot_messages ?key=
Faults     GET|POST|DELETE /faults {path, count?, errcode? | http_status?, errmsg?} · POST /tokens/expire
           · GET /calls ?path= -> {counts, log}
Callbacks  GET|POST|DELETE /callback {url, token, encoding_aes_key} · POST /callback/verify ·
           GET /callbacks ?kind=
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from starlette.datastructures import State

from bot.sandbox.wecom_callbacks import WecomCallbacks
from bot.sandbox.wecom_records import CallbackTarget
from bot.sandbox.wecom_world import JSON, World

Handler = Callable[[State, "Args"], Any]


class Args(dict[str, Any]):
    """Path, query and body parameters; a missing one is a 400 (KeyErrors from the world are 404s)."""

    def __missing__(self, key: str) -> Any:
        raise ValueError(f"missing parameter {key!r}")

    def flag(self, name: str) -> bool:
        value = self.get(name, False)
        return value.lower() in ("1", "true", "yes") if isinstance(value, str) else bool(value)

    def announce(self) -> JSON:
        return {"drop": self.flag("drop"), "repeat": int(self.get("repeat", 1))}

    def ids(self, name: str = "userids") -> list[Any]:
        value = self.get(name, self.get("members", self.get("userid")))
        return [value] if isinstance(value, str | dict) else list(value or [])


def pusher(state: State, target: CallbackTarget) -> WecomCallbacks:
    """The callback pusher for ``target`` (sharing the server's httpx client)."""
    world: World = state.world
    return WecomCallbacks(
        target.token,
        target.encoding_aes_key,
        world.corp_id,
        world.agent_id,
        target.url,
        http=state.http,
        clock=world.now,
    )


def _group(state: State, a: Args) -> JSON:
    return state.world.group(a["chat_id"], live=False).view()


def _corp(state: State, a: Args) -> JSON:
    world: World = state.world
    for key in ("corp_id", "secret"):
        if a.get(key):
            setattr(world, key, str(a[key]))
    if a.get("agent_id") is not None:
        world.agent_id = int(a["agent_id"])
    if a.get("app_msg_overflow") in ("error", "drop"):
        world.app_msg_overflow = a["app_msg_overflow"]
    return {
        "corp_id": world.corp_id,
        "secret": world.secret,
        "agent_id": world.agent_id,
        "app_msg_overflow": world.app_msg_overflow,
    }


def _state(state: State, a: Args) -> JSON:
    world: World = state.world
    return {
        "now": world.now(),
        "staff": len(world.staff),
        "customers": len(world.customers),
        "groups": len(world.groups),
        "templates": len(world.templates),
        "app_messages": len(world.app_messages),
        "kf_inbox": len(world.kf_inbox),
        "callbacks": len(world.callbacks),
        "calls": sum(world.calls.values()),
    }


def _templates(state: State, a: Args) -> list[JSON]:
    world: World = state.world
    shown = []
    for template in world.templates.values():
        tasks = [t.view() for t in world.tasks if t.msgid == template.msgid]
        results = [r.view() for r in world.send_results if r.msgid == template.msgid]
        shown.append({**template.view(), "tasks": tasks, "results": results})
    return shown


def _set_callback(state: State, a: Args) -> JSON:
    target = CallbackTarget(str(a["url"]), str(a["token"]), str(a["encoding_aes_key"]))
    pusher(state, target)  # validates the key (43 base64 characters)
    state.world.callback = target
    return target.view()


async def _verify(state: State, a: Args) -> JSON:
    target: CallbackTarget | None = state.world.callback
    if target is None:
        raise KeyError("no callback target configured")
    async with pusher(state, target) as callbacks:
        return await callbacks.verify_url()


def _clock(state: State, a: Args) -> JSON:
    world: World = state.world
    if a.get("advance"):
        world.advance(float(a["advance"]))
    return {"now": world.now(), "offset": world.offset}


def _calls(state: State, a: Args) -> JSON:
    world: World = state.world
    log = [c for c in world.call_log if not a.get("path") or c["path"] == a["path"]]
    return {"counts": dict(world.calls), "log": log}


def _kf_message(state: State, a: Args) -> JSON:
    message, _ = state.world.kf_customer_says(a["open_kfid"], a["external_userid"], a["content"], **a.announce())
    return message.view()


def _kf_menu_click(state: State, a: Args) -> JSON:
    message, _ = state.world.kf_menu_click(a["open_kfid"], a["external_userid"], str(a["menu_id"]), **a.announce())
    return message.view()


def _press(state: State, a: Args) -> JSON:
    pressed = {"userid": a["userid"], "task_id": str(a["task_id"]), "key": str(a["key"])}
    code, _ = state.world.press_card_button(**pressed, **a.announce())
    return {**pressed, "response_code": code}


def _filtered(items: list[Any], key: str, value: Any) -> list[JSON]:
    """Views of ``items`` whose ``key`` (a value or a list) contains ``value`` (all when no value)."""
    shown = []
    for item in items:
        found = item.get(key) if isinstance(item, dict) else getattr(item, key)
        if not value or value in (found if isinstance(found, list) else [found]):
            shown.append(item if isinstance(item, dict) else item.view())
    return shown


def _create_group(s: State, a: Args) -> JSON:
    members, notice, chat_id = a.get("members"), a.get("notice", ""), a.get("chat_id")
    return s.world.create_group(a["owner"], a.get("name", ""), members, notice, chat_id, **a.announce()).view()


def _add_members(s: State, a: Args) -> JSON:
    scene, invitor = int(a.get("join_scene", 1)), a.get("invitor")
    return s.world.add_members(a["chat_id"], a.ids(), scene, invitor, **a.announce()).view()


def _remove_members(s: State, a: Args) -> JSON:
    return s.world.remove_members(a["chat_id"], a.ids(), int(a.get("quit_scene", 0)), **a.announce()).view()


def _owner(s: State, a: Args) -> JSON:
    return s.world.change_owner(a["chat_id"], a["userid"], **a.announce()).view()


def _name(s: State, a: Args) -> JSON:
    return s.world.rename(a["chat_id"], a["name"], **a.announce()).view()


def _notice(s: State, a: Args) -> JSON:
    return s.world.set_notice(a["chat_id"], a["notice"], **a.announce()).view()


def _dismiss(s: State, a: Args) -> JSON:
    return s.world.dismiss(a["chat_id"], **a.announce()).view()


def _cap(s: State, a: Args) -> JSON:
    s.world.group(a["chat_id"], live=False)
    s.world.group_caps[a["chat_id"]] = int(a["cap"])
    return {"chat_id": a["chat_id"], "cap": int(a["cap"])}


def _confirm(s: State, a: Args) -> list[JSON]:
    return [r.view() for r in s.world.confirm_template(a["msgid"], a.get("userid"))]


def _add_fault(s: State, a: Args) -> JSON:
    code, status = a.get("errcode"), a.get("http_status")
    fault = s.world.add_fault(
        a["path"],
        int(a.get("count", 1)),
        None if code is None else int(code),
        a.get("errmsg"),
        None if status is None else int(status),
    )
    return fault.view()


def _callbacks(s: State, a: Args) -> list[JSON]:
    return [c.view() for c in s.world.callbacks if c.kind.startswith(a.get("kind", ""))]


ROUTES: list[tuple[str, str, Handler]] = [
    ("GET", "/health", lambda s, a: {"status": "up"}),
    ("POST", "/reset", lambda s, a: s.world.reset()),
    ("GET", "/state", _state),
    ("GET", "/corp", _corp),
    ("POST", "/corp", _corp),
    ("GET", "/clock", _clock),
    ("POST", "/clock", _clock),
    ("POST", "/users", lambda s, a: asdict(s.world.add_staff(a["userid"], a.get("name")))),
    ("GET", "/users", lambda s, a: [asdict(u) for u in s.world.staff.values()]),
    ("POST", "/customers", lambda s, a: asdict(s.world.add_customer(a["name"], a.get("external_userid")))),
    ("GET", "/customers", lambda s, a: [asdict(c) for c in s.world.customers.values()]),
    ("POST", "/groups", _create_group),
    ("GET", "/groups", lambda s, a: [g.view() for g in s.world.groups.values()]),
    ("GET", "/groups/{chat_id}", _group),
    ("POST", "/groups/{chat_id}/members", _add_members),
    ("POST", "/groups/{chat_id}/members/remove", _remove_members),
    ("POST", "/groups/{chat_id}/owner", _owner),
    ("POST", "/groups/{chat_id}/name", _name),
    ("POST", "/groups/{chat_id}/notice", _notice),
    ("POST", "/groups/{chat_id}/dismiss", _dismiss),
    ("POST", "/groups/{chat_id}/cap", _cap),
    ("POST", "/staff_messages", lambda s, a: s.world.staff_says(a["userid"], a["content"], **a.announce()).view()),
    ("GET", "/app_messages", lambda s, a: _filtered(s.world.app_messages, "touser", a.get("userid"))),
    ("POST", "/cards/press", _press),
    ("GET", "/templates", _templates),
    ("POST", "/templates/{msgid}/confirm", _confirm),
    ("GET", "/reminders", lambda s, a: [asdict(r) for r in s.world.reminders]),
    ("POST", "/kf/accounts", lambda s, a: asdict(s.world.add_kf_account(a["name"], a.get("open_kfid")))),
    ("POST", "/kf/messages", _kf_message),
    ("POST", "/kf/menu_clicks", _kf_menu_click),
    ("GET", "/kf/sent", lambda s, a: _filtered(s.world.kf_sent, "touser", a.get("touser"))),
    ("POST", "/robots", lambda s, a: asdict(s.world.add_robot(a.get("name", "robot"), a.get("key")))),
    ("GET", "/robot_messages", lambda s, a: _filtered(s.world.robot_messages, "key", a.get("key"))),
    ("GET", "/faults", lambda s, a: [f.view() for f in s.world.faults]),
    ("POST", "/faults", _add_fault),
    ("DELETE", "/faults", lambda s, a: s.world.faults.clear()),
    ("POST", "/tokens/expire", lambda s, a: {"expired": s.world.expire_tokens()}),
    ("GET", "/calls", _calls),
    ("GET", "/callback", lambda s, a: s.world.callback.view() if s.world.callback else None),
    ("POST", "/callback", _set_callback),
    ("DELETE", "/callback", lambda s, a: setattr(s.world, "callback", None)),
    ("POST", "/callback/verify", _verify),
    ("GET", "/callbacks", _callbacks),
]
