"""Plain (unencrypted) XML of the WeCom callbacks the fake sends, shaped like the real ones.

Pure string building, no I/O. ``WecomCallbacks`` (bot.sandbox.wecom_callbacks) encrypts these and wraps
them in the ``<xml><ToUserName/><AgentID/><Encrypt/></xml>`` envelope.

Field names follow developer.work.weixin.qq.com: 客户群变更事件 (change_external_chat), 接收普通消息
(MsgType text), 模板卡片事件推送 (template_card_event) and 微信客服 接收消息和事件 (kf_msg_or_event).
"""

from __future__ import annotations

from collections.abc import Iterable

CHANGE_TYPES = ("create", "update", "dismiss")
UPDATE_DETAILS = ("add_member", "del_member", "change_owner", "change_name", "change_notice")


def cdata(value: object) -> str:
    """``<![CDATA[...]]>``; a ``]]>`` inside the value is split across two sections."""
    return "<![CDATA[" + str(value).replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _element(name: str, value: object, *, raw: bool = False) -> str:
    return f"<{name}>{value if raw else cdata(value)}</{name}>"


def change_external_chat(
    corp_id: str,
    chat_id: str,
    change_type: str,
    create_time: int,
    *,
    update_detail: str | None = None,
    join_scene: int | None = None,
    quit_scene: int | None = None,
    members: Iterable[str] = (),
    last_mem_ver: str | None = None,
    cur_mem_ver: str | None = None,
) -> str:
    """客户群变更事件. JoinScene/QuitScene/MemChangeCnt/MemChangeList/LastMemVer/CurMemVer only appear on
    add_member/del_member updates, as on WeCom (MemChangeList is the newer per-member list)."""
    if change_type not in CHANGE_TYPES:
        raise ValueError(f"change_type must be one of {CHANGE_TYPES}")
    if change_type == "update" and update_detail not in UPDATE_DETAILS:
        raise ValueError(f"update_detail must be one of {UPDATE_DETAILS}")
    parts = [
        _element("ToUserName", corp_id),
        _element("FromUserName", "sys"),
        _element("CreateTime", create_time, raw=True),
        _element("MsgType", "event"),
        _element("Event", "change_external_chat"),
        _element("ChatId", chat_id),
        _element("ChangeType", change_type),
    ]
    if change_type == "update":
        parts.append(_element("UpdateDetail", update_detail))
        if update_detail in ("add_member", "del_member"):
            changed = list(members)
            if update_detail == "add_member":
                parts.append(_element("JoinScene", join_scene or 0, raw=True))
            else:
                parts.append(_element("QuitScene", quit_scene or 0, raw=True))
            parts.append(_element("MemChangeCnt", len(changed), raw=True))
            items = "".join(_element("Item", userid) for userid in changed)
            parts.append(f"<MemChangeList>{items}</MemChangeList>")
            if last_mem_ver is not None:
                parts.append(_element("LastMemVer", last_mem_ver))
            if cur_mem_ver is not None:
                parts.append(_element("CurMemVer", cur_mem_ver))
    return "<xml>" + "".join(parts) + "</xml>"


def app_text(corp_id: str, from_user: str, content: str, msg_id: int, agent_id: int, create_time: int) -> str:
    """A staff member's text message to the self-built app (接收普通消息, MsgType=text)."""
    return (
        "<xml>"
        + _element("ToUserName", corp_id)
        + _element("FromUserName", from_user)
        + _element("CreateTime", create_time, raw=True)
        + _element("MsgType", "text")
        + _element("Content", content)
        + _element("MsgId", msg_id, raw=True)
        + _element("AgentID", agent_id, raw=True)
        + "</xml>"
    )


def template_card_event(
    corp_id: str, from_user: str, key: str, task_id: str, response_code: str, agent_id: int, create_time: int
) -> str:
    """A staff member pressed the button ``key`` of the button_interaction card ``task_id`` the app sent;
    ``response_code`` lets the app update that card (message/update_template_card)."""
    return (
        "<xml>"
        + _element("ToUserName", corp_id)
        + _element("FromUserName", from_user)
        + _element("CreateTime", create_time, raw=True)
        + _element("MsgType", "event")
        + _element("Event", "template_card_event")
        + _element("EventKey", key)
        + _element("TaskId", task_id)
        + _element("CardType", "button_interaction")
        + _element("ResponseCode", response_code)
        + _element("AgentID", agent_id, raw=True)
        + "</xml>"
    )


def kf_msg_or_event(corp_id: str, token: str, open_kfid: str, create_time: int) -> str:
    """微信客服: "there are new messages or events, fetch them with kf/sync_msg using this Token"."""
    return (
        "<xml>"
        + _element("ToUserName", corp_id)
        + _element("CreateTime", create_time, raw=True)
        + _element("MsgType", "event")
        + _element("Event", "kf_msg_or_event")
        + _element("Token", token)
        + _element("OpenKfId", open_kfid)
        + "</xml>"
    )


def envelope(corp_id: str, agent_id: int | str, encrypt: str) -> str:
    """The encrypted POST body WeCom sends to a callback URL."""
    return (
        "<xml>"
        + _element("ToUserName", corp_id)
        + _element("AgentID", agent_id)
        + _element("Encrypt", encrypt)
        + "</xml>"
    )


def entity_bomb(depth: int = 9, fan_out: int = 10) -> str:
    """A DOCTYPE of nested internal entities ("billion laughs"): ``fan_out ** depth`` copies when expanded."""
    entities = ['<!ENTITY e0 "lol">']
    for level in range(1, depth + 1):
        entities.append(f'<!ENTITY e{level} "' + f"&e{level - 1};" * fan_out + '">')
    return '<?xml version="1.0"?>\n<!DOCTYPE xml [\n' + "\n".join(entities) + "\n]>\n"
