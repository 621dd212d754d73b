"""The fake WeCom server, driven over real HTTP by the real wechatpy 1.8.18 client (sync, run in a thread),
and its callback pusher checked by a receiver that decrypts with wechatpy's WeChatCrypto."""

from __future__ import annotations

import asyncio
import socket
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy.enterprise import WeChatClient
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.exceptions import APILimitedException, WeChatClientException

from bot.sandbox.wecom_api import WecomSandbox
from bot.sandbox.wecom_client import WecomCallbacks, WecomSandboxClient, WecomSandboxError

CORP_ID, SECRET, AGENT_ID = "wwsandbox0000000001", "sandbox-app-secret", 1000002
TOKEN, AES_KEY = "callbacktoken", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
T = TypeVar("T")


class SandboxWeChatClient(WeChatClient):
    """wechatpy's enterprise client aimed at the fake (wechatpy hard-codes the gettoken URL)."""

    def __init__(self, base_url: str, secret: str = SECRET) -> None:
        super().__init__(CORP_ID, secret)
        self.API_BASE_URL = f"{base_url}/cgi-bin/"

    def fetch_access_token(self) -> Any:
        params = {"corpid": self.corp_id, "corpsecret": self.secret}
        return self._fetch_access_token(url=f"{self.API_BASE_URL}gettoken", params=params)


async def sync(call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await asyncio.to_thread(call, *args, **kwargs)


@pytest.fixture
async def fake() -> AsyncIterator[tuple[WecomSandbox, WecomSandboxClient, SandboxWeChatClient]]:
    async with WecomSandbox(callback_timeout=2.0) as server, WecomSandboxClient(server.base_url) as control:
        for userid, name in (("zhangsan", "张三"), ("lisi", "李四")):
            await control.add_staff(userid, name)
        yield server, control, SandboxWeChatClient(server.base_url)


@asynccontextmanager
async def receiver(app: Starlette) -> AsyncIterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/wecom"
    finally:
        server.should_exit = True
        await task


def decrypting_app(received: list[dict[str, Any]]) -> Starlette:
    """What a bot's callback endpoint does: verify the URL, decrypt and check each POST."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, CORP_ID)

    async def hook(request: Request) -> Response:
        q = request.query_params
        try:
            if request.method == "GET":
                return PlainTextResponse(
                    crypto.check_signature(q["msg_signature"], q["timestamp"], q["nonce"], q["echostr"])
                )
            raw = await request.body()
            plain = crypto.decrypt_message(raw, q["msg_signature"], q["timestamp"], q["nonce"])
        except Exception as exc:  # InvalidSignatureException, InvalidCorpIdException, parse errors
            received.append({"error": type(exc).__name__})
            return PlainTextResponse(type(exc).__name__, status_code=403)
        received.append({"raw": raw, "query": dict(q), "xml": ET.fromstring(plain)})
        return PlainTextResponse("success")

    return Starlette(routes=[Route("/wecom", hook, methods=["GET", "POST"])])


async def test_token_app_message_and_user(fake: tuple[WecomSandbox, WecomSandboxClient, SandboxWeChatClient]) -> None:
    server, control, client = fake
    sent = await sync(client.message.send_text, AGENT_ID, ["zhangsan", "ghost"], "停电通知：明日 9:00-12:00")
    assert sent["errcode"] == 0 and sent["invaliduser"] == "ghost" and sent["msgid"]
    await sync(client.message.send_markdown, AGENT_ID, "lisi", "**抢修** 已完成")
    assert await control.gettoken_calls() == 1  # wechatpy caches the token
    mine = await control.app_messages("zhangsan")
    assert [(m["msgtype"], m["content"]) for m in mine] == [("text", "停电通知：明日 9:00-12:00")]
    assert (await sync(client.user.get, "lisi"))["name"] == "李四"
    with pytest.raises(WeChatClientException) as unknown:
        await sync(client.user.get, "nobody")
    assert unknown.value.errcode == 60111
    with pytest.raises(WeChatClientException) as wrong_agent:
        await sync(client.message.send_text, 1, "zhangsan", "hi")
    assert wrong_agent.value.errcode == 40056
    with pytest.raises(WeChatClientException) as bad_secret:
        await sync(SandboxWeChatClient(server.base_url, "wrong").fetch_access_token)
    assert bad_secret.value.errcode == 40001


async def test_group_list_paging_and_get(fake: tuple[WecomSandbox, WecomSandboxClient, SandboxWeChatClient]) -> None:
    _, control, client = fake
    customer = await control.add_customer("王女士")
    made = [await control.create_group("zhangsan", f"小区{i}群", [customer["external_userid"]]) for i in range(5)]
    await control.create_group("lisi", "别人的群")
    await control.dismiss_group(made[4]["chat_id"])
    page = await sync(client.external_contact_group_chat.list, owner_userid_list=["zhangsan"], limit=2)
    assert len(page["group_chat_list"]) == 2 and page["next_cursor"]
    listed = await sync(client.external_contact_group_chat.list_all, owner_userid_list=["zhangsan"], limit=2)
    assert [g["chat_id"] for g in listed] == [g["chat_id"] for g in made[:4]]
    assert len(await sync(client.external_contact_group_chat.list_all, limit=1000)) == 5
    detail = await sync(
        client.post, "externalcontact/groupchat/get", data={"chat_id": made[0]["chat_id"], "need_name": 1}
    )
    members = {m["userid"]: m for m in detail["group_chat"]["member_list"]}
    assert detail["group_chat"]["owner"] == "zhangsan" and detail["group_chat"]["name"] == "小区0群"
    assert (
        members[customer["external_userid"]]["type"] == 2 and members[customer["external_userid"]]["name"] == "王女士"
    )
    assert members[customer["external_userid"]]["invitor"] == {"userid": "zhangsan"}
    with pytest.raises(WeChatClientException) as dismissed:
        await sync(client.external_contact_group_chat.get, made[4]["chat_id"])
    assert dismissed.value.errcode == 40050


async def test_template_task_and_results(fake: tuple[WecomSandbox, WecomSandboxClient, SandboxWeChatClient]) -> None:
    _, control, client = fake
    ours = [(await control.create_group("zhangsan", f"群{i}"))["chat_id"] for i in range(2)]
    theirs = (await control.create_group("lisi", "别人的群"))["chat_id"]
    await control.set_group_cap(ours[1], 0)  # this group already had its monthly quota
    template = {
        "chat_type": "group",
        "sender": "zhangsan",
        "chat_id_list": [*ours, theirs],
        "text": {"content": "计划停电通知"},
        "allow_select": False,
    }
    created = await sync(client.external_contact.add_msg_template, template)
    assert created["fail_list"] == [theirs] and created["msgid"].startswith("msg")
    msgid = created["msgid"]
    task = await sync(client.post, "externalcontact/get_groupmsg_task", data={"msgid": msgid, "limit": 100})
    assert task["task_list"] == [{"userid": "zhangsan", "status": 0}]
    query = {"msgid": msgid, "userid": "zhangsan", "limit": 1}
    first = await sync(client.post, "externalcontact/get_groupmsg_send_result", data=query)
    assert first["send_list"] == [{"chat_id": ours[0], "userid": "zhangsan", "status": 0}] and first["next_cursor"]
    await sync(client.post, "externalcontact/remind_groupmsg_send", data={"msgid": msgid})
    assert [r["msgid"] for r in await control.reminders()] == [msgid]
    await control.confirm_template(msgid)
    task = await sync(client.post, "externalcontact/get_groupmsg_task", data={"msgid": msgid, "limit": 100})
    assert task["task_list"][0]["status"] == 2 and task["task_list"][0]["send_time"] > 0
    results = await sync(client.post, "externalcontact/get_groupmsg_send_result", data={**query, "limit": 10})
    assert [(r["chat_id"], r["status"]) for r in results["send_list"]] == [(ours[0], 1), (ours[1], 3)]
    with pytest.raises(WeChatClientException) as empty:
        await sync(client.external_contact.add_msg_template, {**template, "text": {"content": " "}})
    assert empty.value.errcode == 44004


async def test_expired_token_refresh_and_injected_faults(
    fake: tuple[WecomSandbox, WecomSandboxClient, SandboxWeChatClient],
) -> None:
    _, control, client = fake
    await sync(client.user.get, "zhangsan")
    assert await control.expire_tokens() == 1
    assert (await sync(client.user.get, "zhangsan"))["userid"] == "zhangsan"  # 42001 -> refetch -> retry
    assert await control.gettoken_calls() == 2
    assert any(c["errcode"] == 42001 for c in (await control.calls("user/get"))["log"])
    await control.inject_failure("message/send", errcode=45009)
    with pytest.raises(APILimitedException):
        await sync(client.message.send_text, AGENT_ID, "zhangsan", "hi")
    await control.inject_failure("message/send", http_status=502)
    with pytest.raises(WeChatClientException) as bad_gateway:
        await sync(client.message.send_text, AGENT_ID, "zhangsan", "hi")
    assert bad_gateway.value.response.status_code == 502
    assert (await sync(client.message.send_text, AGENT_ID, "zhangsan", "hi"))["errcode"] == 0
    for _ in range(29):
        await sync(client.message.send_text, AGENT_ID, "zhangsan", "flood")
    with pytest.raises(APILimitedException):  # the 31st message to one member within a minute
        await sync(client.message.send_text, AGENT_ID, "zhangsan", "flood")


async def test_callbacks_decrypt_repeat_drop_and_forgeries(
    fake: tuple[WecomSandbox, WecomSandboxClient, SandboxWeChatClient],
) -> None:
    _, control, client = fake
    received: list[dict[str, Any]] = []
    async with receiver(decrypting_app(received)) as url:
        await control.set_callback(url, TOKEN, AES_KEY)
        assert (await control.verify_callback())["ok"]
        received.clear()
        group = await control.create_group("zhangsan", "城东供电服务群")
        assert [(d["status"], d["body"]) for d in group["callbacks"][0]["deliveries"]] == [(200, "success")]
        created = received[0]["xml"]
        assert (created.findtext("Event"), created.findtext("ChangeType")) == ("change_external_chat", "create")
        assert created.findtext("ChatId") == group["chat_id"] and created.findtext("ToUserName") == CORP_ID

        customer = await control.add_customer("赵先生")
        await control.add_members(group["chat_id"], [customer["external_userid"]], repeat=3)
        repeats = received[1:]
        assert len(repeats) == 3 and len({(r["raw"], tuple(r["query"].items())) for r in repeats}) == 1
        event = repeats[0]["xml"]
        assert event.findtext("UpdateDetail") == "add_member" and event.findtext("MemChangeCnt") == "1"
        assert [i.text for i in event.iter("Item")] == [customer["external_userid"]]

        before = len(received)
        renamed = await control.rename_group(group["chat_id"], "新名字", drop=True)
        assert len(received) == before and renamed["name"] == "新名字"
        assert renamed["callbacks"][0]["dropped"] and renamed["callbacks"][0]["deliveries"] == []
        assert (await sync(client.external_contact_group_chat.get, group["chat_id"]))["group_chat"]["name"] == "新名字"

        async with WecomCallbacks(TOKEN, AES_KEY, CORP_ID, AGENT_ID, url) as pusher:
            assert [d.status for d in await pusher.push(pusher.app_text("lisi", "报修：停电"))] == [200]
            assert received[-1]["xml"].findtext("Content") == "报修：停电"
            for forged, error in (
                (pusher.forged.wrong_signature(), "InvalidSignatureException"),
                (pusher.forged.other_corp(), "InvalidCorpIdException"),
            ):
                assert (await pusher.deliver(forged))[0].status == 403 and received[-1]["error"] == error
            assert (await pusher.deliver(pusher.forged.not_xml()))[0].status == 403


async def test_kf_window_and_robot(fake: tuple[WecomSandbox, WecomSandboxClient, SandboxWeChatClient]) -> None:
    server, control, client = fake
    received: list[dict[str, Any]] = []
    async with receiver(decrypting_app(received)) as url:
        await control.set_callback(url, TOKEN, AES_KEY)
        account = await control.add_kf_account("95598 在线客服")
        customer = await control.add_customer("刘阿姨")
        await control.kf_customer_message(account["open_kfid"], customer["external_userid"], "家里停电了")
    event = received[0]["xml"]
    assert event.findtext("Event") == "kf_msg_or_event" and event.findtext("OpenKfId") == account["open_kfid"]
    sync_body = {"token": event.findtext("Token"), "open_kfid": account["open_kfid"], "limit": 1000}
    synced = await sync(client.post, "kf/sync_msg", data=sync_body)
    assert [m["text"]["content"] for m in synced["msg_list"]] == ["家里停电了"] and synced["has_more"] == 0
    again = await sync(client.post, "kf/sync_msg", data={**sync_body, "cursor": synced["next_cursor"]})
    assert again["msg_list"] == []
    reply = {
        "touser": customer["external_userid"],
        "open_kfid": account["open_kfid"],
        "msgtype": "text",
        "text": {"content": "已派单"},
    }
    for _ in range(5):
        await sync(client.post, "kf/send_msg", data=reply)
    with pytest.raises(WeChatClientException) as quota:
        await sync(client.post, "kf/send_msg", data=reply)
    assert quota.value.errcode == 95001 and len(await control.kf_sent()) == 5
    await control.advance_clock(49 * 3600)
    await control.kf_customer_message(account["open_kfid"], customer["external_userid"], "还没来电")
    await control.advance_clock(49 * 3600)
    with pytest.raises(WeChatClientException) as window:
        await sync(client.post, "kf/send_msg", data=reply)
    assert window.value.errcode == 95018

    robot = await control.add_robot("抢修群机器人")
    async with httpx.AsyncClient(base_url=f"{server.base_url}/cgi-bin") as http:
        text = {"msgtype": "text", "text": {"content": "10kV 线路跳闸"}}
        codes = [
            (await http.post("/webhook/send", params={"key": robot["key"]}, json=text)).json()["errcode"]
            for _ in range(21)
        ]
        assert codes == [0] * 20 + [45009]
        assert (await http.post("/webhook/send", params={"key": "nope"}, json=text)).json()["errcode"] == 93000
    assert len(await control.robot_messages(robot["key"])) == 20


def card(task_id: str, *keys: str, card_type: str = "button_interaction") -> dict[str, Any]:
    buttons = [{"text": f"按钮{k}", "style": 1, "key": k} for k in keys]
    template_card = {"card_type": card_type, "main_title": {"title": "停电工单"}, "sub_title_text": "请确认派单"}
    body = {"touser": "zhangsan", "msgtype": "template_card", "agentid": AGENT_ID}
    return {**body, "template_card": {**template_card, "task_id": task_id, "button_list": buttons}}


async def test_template_card_buttons(fake: tuple[WecomSandbox, WecomSandboxClient, SandboxWeChatClient]) -> None:
    _, control, client = fake
    received: list[dict[str, Any]] = []
    async with receiver(decrypting_app(received)) as url:
        await control.set_callback(url, TOKEN, AES_KEY)
        assert (await sync(client.post, "message/send", data=card("gb1", "accept", "reject")))["errcode"] == 0
        [sent] = await control.app_messages("zhangsan")
        assert (sent["msgtype"], sent["content"]) == ("template_card", "停电工单\n请确认派单")
        assert [b["key"] for b in sent["payload"]["button_list"]] == ["accept", "reject"]
        for bad, errcode, why in (
            (card("gb1", "accept"), 40058, "already used"),
            (card("gb2", "a", card_type="text_notice"), 40008, "card_type"),
            (card("gb2", *"abcdefg"), 40058, "1..6 buttons"),
            (card("gb2"), 40058, "1..6 buttons"),
            (card("gb2", "a", "a"), 40058, "must not repeat"),
            (card("", "a"), 40058, "task_id"),
            (card("gb:2", "a"), 40058, "task_id"),  # letters, digits and _-@ only
        ):
            with pytest.raises(WeChatClientException) as refused:
                await sync(client.post, "message/send", data=bad)
            assert refused.value.errcode == errcode and why in refused.value.errmsg
        no_key = card("gb2", "a")
        no_key["template_card"]["button_list"][0].pop("key")
        with pytest.raises(WeChatClientException) as keyless:
            await sync(client.post, "message/send", data=no_key)
        assert keyless.value.errcode == 40058 and "text and key" in keyless.value.errmsg

        pressed = await control.press_card_button("zhangsan", "gb1", "reject", repeat=2)
        assert len(received) == 2 and received[0]["raw"] == received[1]["raw"]
        event = received[0]["xml"]
        assert {e.tag: e.text for e in event} == {
            "ToUserName": CORP_ID,
            "FromUserName": "zhangsan",
            "CreateTime": event.findtext("CreateTime"),
            "MsgType": "event",
            "Event": "template_card_event",
            "EventKey": "reject",
            "TaskId": "gb1",
            "CardType": "button_interaction",
            "ResponseCode": pressed["response_code"],
            "AgentID": str(AGENT_ID),
        }
        assert pressed["response_code"] and int(event.findtext("CreateTime") or 0) > 0
        dropped = await control.press_card_button("zhangsan", "gb1", "accept", drop=True)
        assert dropped["callbacks"][0]["dropped"] and len(received) == 2
        for args, code in ((("zhangsan", "gb9", "accept"), 404), (("lisi", "gb1", "accept"), 400)):
            with pytest.raises(WecomSandboxError) as refused_press:
                await control.press_card_button(*args)
            assert refused_press.value.code == code
        with pytest.raises(WecomSandboxError, match="no button 'maybe'"):
            await control.press_card_button("zhangsan", "gb1", "maybe")
    assert len(received) == 2


async def test_kf_menu_and_click(fake: tuple[WecomSandbox, WecomSandboxClient, SandboxWeChatClient]) -> None:
    _, control, client = fake
    received: list[dict[str, Any]] = []
    async with receiver(decrypting_app(received)) as url:
        await control.set_callback(url, TOKEN, AES_KEY)
        account = await control.add_kf_account("95598 在线客服")
        kfid = account["open_kfid"]
        customer, other = [(await control.add_customer(n))["external_userid"] for n in ("刘阿姨", "陈先生")]
        await control.kf_customer_message(kfid, customer, "来电了")
        items = [{"type": "click", "click": {"id": f"sat_{i}", "content": c}} for i, c in enumerate(("满意", "不满意"))]
        menu = {"touser": customer, "open_kfid": kfid, "msgtype": "msgmenu"}
        menu["msgmenu"] = {"head_content": "请评价本次服务", "list": items, "tail_content": "谢谢"}
        assert (await sync(client.post, "kf/send_msg", data=menu))["msgid"]
        [sent] = await control.kf_sent(customer)
        assert (sent["msgtype"], sent["content"]) == ("msgmenu", "请评价本次服务\n满意\n不满意")
        assert sent["menu"] == [{"id": "sat_0", "content": "满意"}, {"id": "sat_1", "content": "不满意"}]
        for bad, errcode in (
            ({**menu, "msgmenu": {"head_content": "?", "list": []}}, 40058),
            ({**menu, "msgmenu": {"list": [{"type": "view", "view": {"url": "u", "content": "c"}}]}}, 40058),
            ({**menu, "msgtype": "image"}, 40008),
        ):
            with pytest.raises(WeChatClientException) as refused:
                await sync(client.post, "kf/send_msg", data=bad)
            assert refused.value.errcode == errcode

        await control.advance_clock(49 * 3600)  # the window closed; a tap on the old menu opens a new one
        reply = {"touser": customer, "open_kfid": kfid, "msgtype": "text", "text": {"content": "感谢评价"}}
        with pytest.raises(WeChatClientException) as closed:
            await sync(client.post, "kf/send_msg", data=reply)
        assert closed.value.errcode == 95018
        clicked = await control.kf_menu_click(kfid, customer, "sat_1")
        assert clicked["text"] == {"content": "不满意", "menu_id": "sat_1"} and clicked["origin"] == 3
        event = received[-1]["xml"]
        assert event.findtext("Event") == "kf_msg_or_event" and event.findtext("OpenKfId") == kfid
        synced = await sync(client.post, "kf/sync_msg", data={"token": event.findtext("Token"), "open_kfid": kfid})
        last = synced["msg_list"][-1]
        assert (last["msgtype"], last["origin"], last["text"]) == ("text", 3, {"content": "不满意", "menu_id": "sat_1"})
        assert last["msgid"] == clicked["msgid"] and last["external_userid"] == customer
        assert (await sync(client.post, "kf/send_msg", data=reply))["msgid"]
        for args, code in (
            ((kfid, customer, "sat_9"), 400),  # no such item
            ((kfid, other, "sat_0"), 400),  # the menu went to someone else
            (("wknope", customer, "sat_0"), 404),
        ):
            with pytest.raises(WecomSandboxError) as refused_click:
                await control.kf_menu_click(*args)
            assert refused_click.value.code == code
