"""The fake WeCom API methods: request JSON in, answer JSON out, WecomError for non-zero errcodes.

Errcodes follow WeCom's global list (developer.work.weixin.qq.com/document/path/90313) where it has one:
40001 bad secret, 40013 bad corpid, 41001/40014/42001 token missing/invalid/expired, 40056 bad agentid,
40008 bad msgtype, 44004 empty text content, 60111 unknown userid, 81013 every recipient invalid,
40050 chatid does not exist, 45009 frequency limit, 93000 invalid webhook key. Choices where WeCom
documents none that we could find are marked "choice" below; 40058 (不合法的参数) is the generic one,
also for a template card whose task_id this app already used (WeCom: 同一个应用任务id不能重复).

message/send serves text, markdown, textcard and button_interaction template cards (模板卡片, content
rules in bot.sandbox.wecom_records.app_content); kf/send_msg serves text and msgmenu (菜单消息) with
click items.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from bot.sandbox.wecom_groups import decode_cursor, encode_cursor, limit_of, page_of
from bot.sandbox.wecom_records import AppMessage, RobotMessage, SendResult, Task, Template, app_content, bad_param
from bot.sandbox.wecom_world import JSON, WecomError, World, random_id

Handler = Callable[[World, Mapping[str, str], JSON], JSON]
APP_MSG_PER_MINUTE = 30  # 每应用对同一个成员不可超过30次/分钟
ROBOT_PER_MINUTE = 20  # 每个机器人发送的消息不能超过20条/分钟
MAX_TEMPLATE_CHATS = 2000


def _payload(body: JSON, msgtype: str) -> JSON:
    found = body.get(msgtype)
    return found if isinstance(found, dict) else {}


# --- token, directory ---------------------------------------------------------------------------
def gettoken(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    corpid, secret = query.get("corpid"), query.get("corpsecret")
    if not corpid:
        raise WecomError(41002, "corpid missing")
    if corpid != world.corp_id:
        raise WecomError(40013, "invalid corpid")
    if not secret:
        raise WecomError(41004, "corpsecret missing")
    if secret != world.secret:
        raise WecomError(40001, "invalid credential")
    token, expires_in = world.issue_token()
    return {"access_token": token, "expires_in": expires_in}


def user_get(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    userid = query.get("userid") or body.get("userid")
    staff = world.staff.get(str(userid or ""))
    if staff is None:
        raise WecomError(60111, f"invalid string value `{userid}`. userid not found")
    return {"userid": staff.userid, "name": staff.name, "department": [1], "main_department": 1, "status": 1}


# --- app messages -----------------------------------------------------------------------------------
def message_send(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    try:
        agentid = int(body.get("agentid", -1))
    except (TypeError, ValueError):
        agentid = -1
    if agentid != world.agent_id:
        raise WecomError(40056, "invalid agentid")
    msgtype = str(body.get("msgtype", ""))
    content = app_content(msgtype, body.get(msgtype))
    card = (agentid, str(_payload(body, msgtype).get("task_id"))) if msgtype == "template_card" else None
    if card in world.card_tasks:
        raise bad_param(f"template_card.task_id {card[1]!r} was already used by this app")  # choice
    wanted = [u for u in str(body.get("touser") or "").split("|") if u]
    if wanted == ["@all"]:
        wanted = list(world.staff)
    valid = [u for u in dict.fromkeys(wanted) if u in world.staff]
    invalid = [u for u in dict.fromkeys(wanted) if u not in world.staff]
    if not valid:  # no departments or tags in the sandbox: toparty/totag never name anyone
        raise WecomError(81013, "user & party & tag all invalid")
    over = [u for u in valid if not world.within_rate(f"app:{u}", APP_MSG_PER_MINUTE, record=False)]
    if over and world.app_msg_overflow == "error":
        raise WecomError(45009, f"api freq out of limit: over 30 messages a minute to {'|'.join(over)}")
    delivered = [u for u in valid if u not in over]
    for userid in delivered:
        world.within_rate(f"app:{userid}", APP_MSG_PER_MINUTE)
    msgid = random_id("", 40)
    payload = _payload(body, msgtype)
    record = AppMessage(msgid, agentid, delivered, msgtype, content, payload, world.now(), invalid, over)
    world.app_messages.append(record)
    if card is not None:
        world.card_tasks[card] = record
    answer: JSON = {"invaliduser": "|".join(invalid), "msgid": msgid}
    for key in ("toparty", "totag"):
        if body.get(key):
            answer["invalid" + key[2:]] = body[key]
    return answer


# --- customer groups --------------------------------------------------------------------------------
def groupchat_list(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    owners = (body.get("owner_filter") or {}).get("userid_list") or []
    status_filter = int(body.get("status_filter") or 0)
    if "limit" not in body:
        raise bad_param("limit is required (1..1000)")
    live = [g for g in world.groups.values() if not g.dismissed and (not owners or g.owner in owners)]
    # Every sandbox group is 跟进人正常 (status 0): filters 1..3 (离职待继承/继承中/继承完成) match none.
    chosen = sorted(live, key=lambda g: g.create_time) if status_filter == 0 else []  # stable: creation order
    page, next_cursor = page_of(chosen, body, 100)
    return {"group_chat_list": [{"chat_id": g.chat_id, "status": 0} for g in page], "next_cursor": next_cursor}


def groupchat_get(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    group = world.groups.get(str(body.get("chat_id") or ""))
    if group is None or group.dismissed:
        raise WecomError(40050, "chatid not found")  # 40050 chatid不存在 (global list)
    need_name = int(body.get("need_name") or 0) == 1
    members = []
    for member in group.members.values():
        shown: JSON = {"userid": member.userid, "type": member.type, "join_time": member.join_time}
        shown["join_scene"] = member.join_scene
        if member.invitor:
            shown["invitor"] = {"userid": member.invitor}
        shown["group_nickname"] = member.group_nickname
        if need_name:
            shown["name"] = world.display_name(member.userid)
        members.append(shown)
    chat = {
        "chat_id": group.chat_id,
        "name": group.name,
        "owner": group.owner,
        "create_time": group.create_time,
        "notice": group.notice,
        "member_list": members,
        "admin_list": [{"userid": u} for u in group.admins],
        "member_version": group.member_version(),
    }
    return {"group_chat": chat}


# --- 群发 -----------------------------------------------------------------------------------------------
def add_msg_template(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    chat_type = str(body.get("chat_type") or "single")
    if chat_type != "group":
        raise bad_param("the sandbox serves chat_type=group only")
    sender = str(body.get("sender") or "")
    if not sender:
        raise bad_param("sender is required when chat_type is group")  # choice: no dedicated code found
    if sender not in world.staff:
        raise WecomError(60111, f"userid not found: {sender}")
    chat_ids = [str(c) for c in body.get("chat_id_list") or []]
    if len(chat_ids) > MAX_TEMPLATE_CHATS:
        raise bad_param("chat_id_list holds at most 2000 groups")
    text = str((body.get("text") or {}).get("content") or "")
    attachments = list(body.get("attachments") or [])
    if not text.strip() and not attachments:
        raise WecomError(44004, "empty content")
    if not chat_ids:  # not given: the owner picks among all their groups
        chat_ids = [g.chat_id for g in world.groups_owned_by(sender)]
    owned = {g.chat_id for g in world.groups_owned_by(sender)}
    # WeCom's answer lists unusable targets in fail_list ("无效或无法发送的external_userid或chatid列表").
    fail_list = [c for c in dict.fromkeys(chat_ids) if c not in owned]
    valid = [c for c in dict.fromkeys(chat_ids) if c in owned]
    if not valid:
        raise WecomError(41048, "no customer or group to send to")  # 41048 无可发送的客户 (choice)
    msgid = random_id("msg", 24)
    allow_select = bool(body.get("allow_select", False))
    world.templates[msgid] = Template(
        msgid, chat_type, sender, valid, fail_list, text, attachments, allow_select, world.now()
    )
    world.tasks.append(Task(msgid, sender))
    world.send_results.extend(SendResult(msgid, chat_id, sender) for chat_id in valid)
    return {"fail_list": fail_list, "msgid": msgid}


def _template(world: World, body: JSON) -> Template:
    template = world.templates.get(str(body.get("msgid") or ""))
    if template is None:
        raise bad_param("unknown msgid")  # choice
    return template


def remind_groupmsg_send(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    world.remind(_template(world, body).msgid)  # WeCom's 3-reminders-a-day limit is not enforced
    return {}


def get_groupmsg_task(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    msgid = _template(world, body).msgid
    page, next_cursor = page_of([t for t in world.tasks if t.msgid == msgid], body, 500)
    return {"task_list": [t.view() for t in page], "next_cursor": next_cursor}


def get_groupmsg_send_result(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    msgid, userid = _template(world, body).msgid, str(body.get("userid") or "")
    if userid not in world.staff:
        raise WecomError(60111, f"userid not found: {userid}")
    results = [r for r in world.send_results if r.msgid == msgid and r.userid == userid]
    page, next_cursor = page_of(results, body, 500)
    return {"send_list": [r.view() for r in page], "next_cursor": next_cursor}


# --- 微信客服 ------------------------------------------------------------------------------------------
def _kf_account(world: World, body: JSON, required: bool) -> str:
    open_kfid = str(body.get("open_kfid") or "")
    if (open_kfid or required) and open_kfid not in world.kf_accounts:
        raise WecomError(95000, "invalid open_kfid")  # choice: the 95xxx block is 微信客服's
    return open_kfid


def kf_sync_msg(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    """Customer messages after ``cursor`` (for ``open_kfid`` if given), oldest first. ``token`` is
    accepted whatever it is (WeCom uses it only to raise the rate limit for a callback's fetch)."""
    open_kfid = _kf_account(world, body, required=False)
    after, limit = decode_cursor(body.get("cursor")), limit_of(body, 1000)
    fresh = [m for m in world.kf_inbox if m.seq > after and (not open_kfid or m.open_kfid == open_kfid)]
    page = fresh[:limit]
    newest = world.kf_inbox[-1].seq if world.kf_inbox else 0
    next_cursor = encode_cursor(page[-1].seq if page else max(after, newest))
    has_more = int(len(fresh) > limit)
    return {"next_cursor": next_cursor, "has_more": has_more, "msg_list": [m.view() for m in page]}


def _kf_content(body: JSON) -> tuple[str, JSON]:
    """kf/send_msg: (the text the customer sees, what else to record). text needs content; msgmenu
    (菜单消息) head_content and click items {type: click, click: {id, content}} (one line each)."""
    msgtype = str(body.get("msgtype") or "")
    if msgtype not in ("text", "msgmenu"):
        raise WecomError(40008, f"invalid message type {msgtype!r} (the sandbox serves text/msgmenu)")
    payload = _payload(body, msgtype)
    if msgtype == "text":
        content = str(payload.get("content") or "")
        if not content.strip():
            raise WecomError(44004, "empty content")
        return content, {}
    items = payload.get("list")
    if not isinstance(items, list) or not items:
        raise bad_param("msgmenu.list holds at least one item")  # choice
    menu = []
    for item in items:
        click = item.get("click") if isinstance(item, dict) and item.get("type") == "click" else None
        if not isinstance(click, dict) or not click.get("id") or not click.get("content"):
            raise bad_param("msgmenu items are {type: click, click: {id, content}} (the sandbox serves click)")
        menu.append({"id": str(click["id"]), "content": str(click["content"])})
    head, tail = str(payload.get("head_content") or ""), str(payload.get("tail_content") or "")
    content = "\n".join([head, *(m["content"] for m in menu)] if head else [m["content"] for m in menu])
    return content, {"head_content": head, "menu": menu, "tail_content": tail}


def kf_send_msg(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    open_kfid, touser = _kf_account(world, body, required=True), str(body.get("touser") or "")
    content, extra = _kf_content(body)
    session = world.kf_sessions.get((open_kfid, touser))
    if session is None or world.now() - session.last_customer_message > world.KF_WINDOW:
        # choice: 95018 "send msg session status invalid" (the session ended); no documented code found
        raise WecomError(95018, "send msg session status invalid: no customer message in the last 48 hours")
    if session.replies >= world.KF_REPLIES:
        raise WecomError(95001, "send msg count limit: 5 messages per customer message")  # seen in SDKs
    session.replies += 1
    msgid = str(body.get("msgid") or random_id("kfsend", 20))
    sent = {"msgid": msgid, "open_kfid": open_kfid, "touser": touser, "msgtype": body["msgtype"], "content": content}
    world.kf_sent.append({**sent, **extra, "time": world.now()})
    return {"msgid": msgid}


# --- group robot (群机器人 webhook) -----------------------------------------------------------------
def webhook_send(world: World, query: Mapping[str, str], body: JSON) -> JSON:
    key = query.get("key") or ""
    if key not in world.robots:
        raise WecomError(93000, "invalid webhook url")
    msgtype = str(body.get("msgtype") or "")
    if msgtype not in ("text", "markdown"):
        raise WecomError(40008, "invalid message type (the sandbox serves text/markdown)")
    payload = _payload(body, msgtype)
    content = str(payload.get("content") or "")
    if not content.strip():
        raise WecomError(44004, "empty content")
    if not world.within_rate(f"robot:{key}", ROBOT_PER_MINUTE):
        raise WecomError(45009, "api freq out of limit: 20 messages a minute per robot")
    world.robot_messages.append(RobotMessage(key, msgtype, content, payload, world.now()))
    return {}


# path under /cgi-bin/ -> (needs access_token, handler)
METHODS: dict[str, tuple[bool, Handler]] = {
    "gettoken": (False, gettoken),
    "user/get": (True, user_get),
    "message/send": (True, message_send),
    "externalcontact/groupchat/list": (True, groupchat_list),
    "externalcontact/groupchat/get": (True, groupchat_get),
    "externalcontact/add_msg_template": (True, add_msg_template),
    "externalcontact/remind_groupmsg_send": (True, remind_groupmsg_send),
    "externalcontact/get_groupmsg_task": (True, get_groupmsg_task),
    "externalcontact/get_groupmsg_send_result": (True, get_groupmsg_send_result),
    "kf/sync_msg": (True, kf_sync_msg),
    "kf/send_msg": (True, kf_send_msg),
    "webhook/send": (False, webhook_send),
}
