"""The WeCom channel end to end: the fake WeCom pushes encrypted callbacks to our endpoint over HTTP, our
real wechatpy client calls its API. What staff, customers and owners see, and what is refused."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from storage.models import WecomCallback
from storage.uow import UnitOfWork
from tests.bot.wecom_live import ARCHIVE_TOKEN, OWNER, WecomLive, live_wecom, wecom_settings

GROUP_ID = "wrTestGroup000000000000000001"
WANG, LI, ZHAO = "wmWangDaYe000000000000000001", "wmLiAYi00000000000000000002", "wmZhao000000000000000000003"


@pytest.fixture
async def live(tmp_path: Path) -> AsyncIterator[WecomLive]:
    async with live_wecom(wecom_settings(tmp_path, remind_after_minutes=0)) as running:
        for external, name in ((WANG, "王大爷"), (LI, "李阿姨"), (ZHAO, "赵师傅")):
            await running.control.add_customer(name, external)
        yield running


async def group_with_customers(live: WecomLive, bound: bool = True) -> None:
    await live.control.create_group(OWNER, "幸福村客户群", members=[OWNER, WANG, LI], chat_id=GROUP_ID)
    await live.settled()
    if bound:
        await live.control.staff_message(OWNER, "/bind 幸福村客户群 幸福村台区")
        await live.wait_app_text(OWNER, "幸福村台区")


def members(live: WecomLive) -> dict[str, bool]:
    """user id → still in the group."""
    def read(uow: UnitOfWork) -> dict[str, bool]:
        group = uow.groups.find("wecom", GROUP_ID)
        assert group is not None
        return {m.user_id: m.left_at is None for m in uow.groups.members(group.id or 0)}
    return live.db(read)


def callbacks_stored(live: WecomLive) -> int:
    return live.db(lambda uow: len(uow.session.exec(select(WecomCallback)).all()))


async def test_url_verification_is_answered_with_the_decrypted_echo(live: WecomLive) -> None:
    pusher = live.pusher()
    [delivery] = await pusher.deliver(pusher.prepare_verification())
    assert delivery.status == 200 and delivery.elapsed < 1.0
    result = await pusher.verify_url()
    assert result["ok"], result


async def test_a_callback_is_acknowledged_before_it_is_handled_and_survives_a_crash_in_between(
        live: WecomLive) -> None:
    endpoint = live.channel.endpoint
    handed_over, endpoint.on_stored = endpoint.on_stored, lambda row_id: None  # the process dies after answering
    pusher = live.pusher()
    [delivery] = await pusher.push(pusher.app_text(OWNER, "/tickets"))
    assert delivery.status == 200 and delivery.body == "success" and delivery.elapsed < 5.0
    waiting = live.db(lambda uow: [r.kind for r in uow.session.exec(select(WecomCallback)).all()
                                   if r.processed_at is None])
    assert waiting == ["text"] and await live.app_texts(OWNER) == []
    endpoint.on_stored = handed_over
    assert await live.channel.adapter.resume() == 1  # what the next start (or sweep) does
    await live.settled()
    assert len(await live.app_texts(OWNER)) == 1


async def test_a_new_group_its_joins_and_leaves_are_kept_current(live: WecomLive) -> None:
    await group_with_customers(live, bound=False)
    group = live.db(lambda uow: uow.groups.find("wecom", GROUP_ID))
    assert group is not None and group.title == "幸福村客户群" and group.owner_user_id == OWNER and group.active
    assert members(live) == {OWNER: True, WANG: True, LI: True}
    await live.control.add_members(GROUP_ID, [ZHAO], join_scene=2)
    await live.control.remove_members(GROUP_ID, [LI])
    await live.settled()
    assert members(live) == {OWNER: True, WANG: True, LI: False, ZHAO: True}
    assert not [t for t in await live.app_texts(OWNER) if "欢迎" in t]  # no welcome task per join
    await live.control.rename_group(GROUP_ID, "幸福村一组")
    await live.settled()
    await live.control.dismiss_group(GROUP_ID)
    await live.settled()
    group = live.db(lambda uow: uow.groups.find("wecom", GROUP_ID))
    assert group is not None and group.title == "幸福村一组" and not group.active


async def test_lost_events_are_repaired_by_the_reconciliation(live: WecomLive) -> None:
    await group_with_customers(live, bound=False)
    await live.control.add_members(GROUP_ID, [ZHAO], drop=True)  # WeCom never told us
    await live.settled()
    assert ZHAO not in members(live)
    listed, gone = await live.channel.adapter.reconcile()
    assert (listed, gone) == (1, 0) and members(live)[ZHAO]


async def test_a_staff_command_is_answered_once_however_often_wecom_retries(live: WecomLive) -> None:
    before = callbacks_stored(live)
    await live.control.staff_message(OWNER, "/tickets", repeat=3)  # WeCom's retries carry the same MsgId
    await live.settled()
    replies = await live.app_texts(OWNER)
    assert len(replies) == 1 and "工单" in replies[0]
    assert callbacks_stored(live) == before + 1


async def test_a_kf_customer_message_becomes_a_ticket_and_is_answered_in_kf(live: WecomLive) -> None:
    account = await live.control.add_kf_account("供电所客服")
    await live.control.kf_customer_message(account["open_kfid"], WANG, "我家停电了，幸福村三组，快来人看看")
    await live.settled()
    [ticket] = live.db(lambda uow: list(uow.tickets.list(limit=10)))
    assert ticket.kind == "repair" and ticket.platform == "wecom" and ticket.chat_id == f"kf:{WANG}"
    sent = await live.control.kf_sent(WANG)
    assert any("工单号" in m["content"] for m in sent)
    assert any(f"工单 {ticket.id}" in text or "新工单" in text for text in await live.app_texts(OWNER))


async def test_archive_records_become_tickets_and_risk_events_and_the_owner_gets_tasks(live: WecomLive) -> None:
    await group_with_customers(live)
    records = [
        {"msgid": "arch-1", "action": "send", "from": WANG, "tolist": [], "roomid": GROUP_ID,
         "msgtime": 1764000000000, "msgtype": "text", "text": {"content": "家里停电了，快来人看看"}},
        {"msgid": "arch-2", "action": "send", "from": LI, "tolist": [], "roomid": GROUP_ID,
         "msgtime": 1764000001000, "msgtype": "text", "text": {"content": "专业代开发票，价格优惠"}},
        {"msgid": "arch-3", "action": "send", "from": LI, "roomid": GROUP_ID, "msgtype": "image", "image": {}},
    ]
    url = live.callback_url.rsplit("/", 1)[0] + "/archive"
    async with httpx.AsyncClient() as http:
        refused = await http.post(url, content=json.dumps(records), headers={"Authorization": "Bearer wrong"})
        assert refused.status_code == 401
        answer = await http.post(url, content="\n".join(json.dumps(r) for r in records),
                                 headers={"Authorization": f"Bearer {ARCHIVE_TOKEN}"})
        again = await http.post(url, content=json.dumps(records), headers={"Authorization": f"Bearer {ARCHIVE_TOKEN}"})
    assert answer.json() == {"received": 3, "new": 3} and again.json() == {"received": 3, "new": 0}
    await live.settled()
    [ticket] = live.db(lambda uow: list(uow.tickets.list(limit=10)))
    assert ticket.kind == "repair" and ticket.chat_id == GROUP_ID and ticket.sender_name == "王大爷"
    risks = live.db(lambda uow: [(e.category, e.action) for e in uow.risk.recent()])
    assert ("ad", "owner_asked") in risks
    await live.wait_app_text(OWNER, "请转发到客户群「幸福村客户群」")  # the ticket's reply, for the owner to post
    task = await live.wait_app_text(OWNER, "请您处理")
    assert "代开发票" in task and "李阿姨" in task


async def test_a_notice_becomes_a_group_template_the_owner_is_reminded_and_the_report_reads_back(
        live: WecomLive) -> None:
    await group_with_customers(live)
    await live.control.staff_message(OWNER, "/notice announcement 幸福村台区 明天上午线路检修，请提前做好准备")
    await live.wait_app_text(OWNER, "公告")
    await live.settled()
    [template] = await live.control.templates()
    assert template["sender"] == OWNER and template["chat_id_list"] == [GROUP_ID]
    assert "线路检修" in template["text"]
    await live.channel.delivery.follow_up()  # remind_after_minutes=0: the owner is reminded at once
    assert [r["msgid"] for r in await live.control.reminders()] == [template["msgid"]]
    await live.control.confirm_template(template["msgid"], OWNER)
    live.db(lambda uow: _forget_last_check(uow))
    await live.channel.delivery.follow_up()
    await live.control.staff_message(OWNER, "/notice 1")
    report = await live.wait_app_text(OWNER, "企业微信群发")
    assert "已发送 1" in report and "待群主确认 0" in report
    await live.channel.delivery.follow_up()
    assert len(await live.control.reminders()) == 1  # reminded once only


def _forget_last_check(uow: UnitOfWork) -> None:
    for message in uow.wecom.open_group_messages():
        message.checked_at = None
        uow.wecom.save(message)
    uow.commit()


async def test_forged_or_malformed_callbacks_are_refused_and_nothing_is_stored(live: WecomLive) -> None:
    before = callbacks_stored(live)
    pusher = live.pusher()
    cases = {"wrong_signature": (pusher.forged.wrong_signature(), 403),
             "other_corp": (pusher.forged.other_corp(), 403),
             "not_xml": (pusher.forged.not_xml(), 400),
             "oversized": (pusher.forged.oversized(), 413),
             "entity_bomb": (pusher.forged.entity_bomb(), 400),
             "inner_entity_bomb": (pusher.forged.entity_bomb(inner=True), 400)}
    for name, (prepared, status) in cases.items():
        [delivery] = await pusher.deliver(prepared)
        assert delivery.status == status, (name, delivery)
    assert callbacks_stored(live) == before


async def test_the_token_is_cached_refreshed_when_expired_and_busy_sends_are_retried(live: WecomLive) -> None:
    fetched = await live.control.gettoken_calls()
    for _ in range(3):
        await live.control.staff_message(OWNER, "/tickets")
    await live.settled()
    assert await live.control.gettoken_calls() == fetched  # one token for every call
    await live.control.expire_tokens()
    await live.control.inject_failure("message/send", count=1, errcode=45009)
    await live.control.staff_message(OWNER, "/tickets")
    await live.settled()
    assert len(await live.app_texts(OWNER)) == 3  # the 4th reply hit the rate limit: left for the sweep
    await live.channel.delivery.dispatch()
    await live.settled()
    assert len(await live.app_texts(OWNER)) == 4
    assert await live.control.gettoken_calls() == fetched + 1


async def test_a_review_alert_is_a_card_whose_button_works(live: WecomLive) -> None:
    await group_with_customers(live)
    url = live.callback_url.rsplit("/", 1)[0] + "/archive"
    record = {"msgid": "arch-r1", "action": "send", "from": WANG, "roomid": GROUP_ID, "msgtime": 1764000000000,
              "msgtype": "text", "text": {"content": "群里有人说电费打折，是真的吗"}}
    async with httpx.AsyncClient() as http:
        await http.post(url, content=json.dumps(record), headers={"Authorization": f"Bearer {ARCHIVE_TOKEN}"})
    await live.settled()

    async def card() -> dict[str, object] | None:
        return next((m for m in await live.control.app_messages(OWNER) if m["msgtype"] == "template_card"), None)

    found = await live.until(card, "the review card")
    payload = found["payload"]
    assert isinstance(payload, dict)
    keys = [b["key"] for b in payload["button_list"]]
    assert [k.rsplit(":", 1)[1] for k in keys] == ["warn", "dismiss"]  # no "delete": WeCom cannot
    await live.control.press_card_button(OWNER, payload["task_id"], keys[1])
    await live.settled()
    await live.wait_app_text(OWNER, "已忽略")
    assert live.db(lambda uow: [e.action for e in uow.risk.recent()]) == ["dismissed"]


async def test_a_kf_customer_rates_the_resolved_ticket_from_a_menu(live: WecomLive) -> None:
    account = await live.control.add_kf_account("供电所客服")
    kfid = account["open_kfid"]
    await live.control.kf_customer_message(kfid, WANG, "你好")
    await live.settled()
    assert any("请直接说明您的问题" in m["content"] for m in await live.control.kf_sent(WANG))
    await live.control.kf_customer_message(kfid, WANG, "家里停电了，快来人看看")
    await live.settled()
    await live.control.staff_message(OWNER, "/resolve 1 线路已修复")
    await live.settled()

    async def survey() -> dict[str, object] | None:
        return next((m for m in await live.control.kf_sent(WANG) if m.get("menu")), None)

    menu = await live.until(survey, "the survey menu")
    five = next(item["id"] for item in menu["menu"] if item["id"].endswith(":5"))  # type: ignore[union-attr]
    await live.control.kf_menu_click(kfid, WANG, five)
    await live.settled()
    confirm = [m for m in await live.control.kf_sent(WANG) if m.get("menu")][-1]
    await live.control.kf_menu_click(kfid, WANG, confirm["menu"][0]["id"])
    await live.settled()
    [ticket] = live.db(lambda uow: list(uow.tickets.list(limit=10)))
    assert ticket.status == "closed"


async def test_a_group_over_its_monthly_cap_is_not_asked_again_and_the_report_says_why(tmp_path: Path) -> None:
    async with live_wecom(wecom_settings(tmp_path, group_broadcasts_per_month=1)) as live:
        await live.control.add_customer("王大爷", WANG)
        await live.control.add_customer("李阿姨", LI)
        await group_with_customers(live)
        for text in ("明天上午线路检修", "后天下午线路检修"):
            await live.control.staff_message(OWNER, f"/notice announcement 幸福村台区 {text}")
            await live.settled()
        assert len(await live.control.templates()) == 1
        await live.control.staff_message(OWNER, "/notice 2")
        report = await live.wait_app_text(OWNER, "over_quota")
        assert "幸福村客户群" in report
