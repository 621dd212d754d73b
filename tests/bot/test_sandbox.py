"""The sandbox Bot API server, exercised over real HTTP by the real python-telegram-bot 22 client."""

from __future__ import annotations

import asyncio
import socket
import time
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import pytest
import telegram
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, ChatMigrated, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ApplicationBuilder, CallbackContext, CommandHandler, MessageHandler, filters

from bot.sandbox import SandboxClient, SandboxError, SandboxServer
from tests.bot.sandbox_scene import BOT_ID, TOKEN, Scene, drain

# PTB itself reads RetryAfter.retry_after while building the message, which warns in 22.x.
pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")

async def fetch(bot: telegram.Bot, **kwargs: object) -> tuple[Update, ...]:
    """get_updates that also confirms what it returned."""
    updates = await bot.get_updates(timeout=0, **kwargs)  # type: ignore[arg-type]
    if updates:
        await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)
    return updates


def seconds(exc: RetryAfter) -> float:
    """retry_after is int or timedelta depending on PTB_TIMEDELTA; reading it warns in 22.x."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@asynccontextmanager
async def receiver(app: Starlette) -> AsyncIterator[str]:
    """A tiny local webhook receiver on a free port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY on accept
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/hook"
    finally:
        server.should_exit = True
        await task


async def test_get_me(bot: telegram.Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (BOT_ID, True, "sandbox123456_bot")
    assert me.can_join_groups and me.can_read_all_group_messages and me.supports_inline_queries is False
    assert me.first_name


async def test_raw_http_shapes(sandbox: SandboxServer, scene: Scene) -> None:
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        bad_token = await http.get("/botnot-a-token/getMe")
        assert (bad_token.status_code, bad_token.json()) == (
            404,
            {"ok": False, "error_code": 404, "description": "Not Found"},
        )
        unknown = await http.post(f"/bot{TOKEN}/frobnicate")
        assert unknown.json() == {"ok": False, "error_code": 404, "description": "Not Found"}
        wrong_secret = await http.get(f"/bot{BOT_ID}:other/getMe")
        assert wrong_secret.status_code == 401
        # Query string, JSON body and multipart all work, like the real API.
        by_query = await http.get(f"/bot{TOKEN}/sendMessage", params={"chat_id": scene.group, "text": "q"})
        by_json = await http.post(f"/bot{TOKEN}/sendmessage", json={"chat_id": scene.group, "text": "j"})
        by_multipart = await http.post(
            f"/bot{TOKEN}/sendMessage",
            data={"chat_id": str(scene.group), "text": "m"},
            files={"ignored": ("a.txt", b"x")},
        )
        texts = [r.json()["result"]["text"] for r in (by_query, by_json, by_multipart)]
        assert texts == ["q", "j", "m"]
        missing_chat = await http.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": -42, "text": "x"})
        assert missing_chat.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: chat not found",
        }


async def test_send_edit_delete_read_back(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    user_msg = await control.post_message(scene.group, scene.bob, text="停电了吗？")
    sent = await bot.send_message(
        scene.group, "<b>正在</b>检修", parse_mode="HTML", reply_to_message_id=user_msg["message_id"]
    )
    assert sent.text == "正在检修" and sent.entities[0].type == "bold" and sent.entities[0].length == 2
    assert sent.from_user.id == BOT_ID and sent.chat.id == scene.group and sent.date.year > 2000
    assert sent.reply_to_message is not None and sent.reply_to_message.text == "停电了吗？"
    edited = await bot.edit_message_text("检修完成", chat_id=scene.group, message_id=sent.message_id)
    assert isinstance(edited, telegram.Message) and edited.edit_date is not None
    doomed = await bot.send_message(scene.group, "temporary")
    assert await bot.delete_message(scene.group, doomed.message_id) is True

    views = await control.bot_messages(scene.group)
    assert [v["text"] for v in views] == ["检修完成", "temporary"]
    assert views[0]["edited"] and views[0]["edits"][0]["text"] == "正在检修"
    assert views[0]["reply_to_message_id"] == user_msg["message_id"]
    assert views[1]["deleted"] and not views[0]["deleted"]
    newer = await control.messages(scene.group, after=sent.message_id)
    assert [v["message_id"] for v in newer] == [doomed.message_id]
    assert [v["message_id"] for v in await control.messages(scene.group, include_deleted=False)][
        -1
    ] == sent.message_id

    with pytest.raises(BadRequest, match=r"(?i)text is empty"):
        await bot.send_message(scene.group, "   ")
    with pytest.raises(BadRequest, match=r"(?i)too long"):
        await bot.send_message(scene.group, "x" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)not modified"):
        await bot.edit_message_text("检修完成", chat_id=scene.group, message_id=sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)to delete not found"):
        await bot.delete_message(scene.group, doomed.message_id)
    with pytest.raises(BadRequest, match=r"(?i)[Cc]hat not found"):
        await bot.send_message(-999, "nobody here")
    calls = await control.calls(method="sendMessage")
    assert [c["status"] for c in calls] == [200, 200, 400, 400, 400]
    assert calls[0]["params"]["reply_parameters"]["message_id"] == user_msg["message_id"]


async def test_inline_keyboard_shape(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("确认", callback_data="ok:1"),
                InlineKeyboardButton("详情", url="https://example.org/outage"),
            ]
        ]
    )
    sent = await bot.send_message(scene.group, "计划停电通知", reply_markup=markup)
    assert sent.reply_markup == markup
    (view,) = await control.bot_messages(scene.group)
    assert view["reply_markup"] == {
        "inline_keyboard": [
            [{"text": "确认", "callback_data": "ok:1"}, {"text": "详情", "url": "https://example.org/outage"}]
        ]
    }
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="d" * 65)]])
        await bot.send_message(scene.group, "x", reply_markup=too_long)


async def test_get_updates_offset_limit_and_long_poll(
    bot: telegram.Bot, control: SandboxClient, scene: Scene
) -> None:
    for n in range(5):
        await control.post_message(scene.group, scene.bob, text=f"m{n}")
    first = await bot.get_updates(limit=2, timeout=0)
    assert [u.message.text for u in first] == ["m0", "m1"]
    assert first[0].update_id < first[1].update_id
    rest = await bot.get_updates(offset=first[-1].update_id + 1, timeout=0)
    assert [u.message.text for u in rest] == ["m2", "m3", "m4"]
    assert await bot.get_updates(offset=rest[-1].update_id + 1, timeout=0) == ()

    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(offset=rest[-1].update_id + 1, timeout=10))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await control.post_message(scene.group, scene.alice, text="wake up")
    woke = await asyncio.wait_for(poll, 3)
    assert [u.message.text for u in woke] == ["wake up"] and time.monotonic() - started < 2
    empty_started = time.monotonic()
    assert await bot.get_updates(offset=woke[-1].update_id + 1, timeout=1) == ()
    assert time.monotonic() - empty_started >= 0.9


async def test_allowed_updates_filter_is_remembered(
    bot: telegram.Bot, control: SandboxClient, scene: Scene
) -> None:
    # Telegram's default leaves chat_member out even for admin bots.
    await control.join(scene.group, (await control.add_user("Carol"))["id"])
    assert {u.effective_message is not None for u in await fetch(bot)} == {True}
    await fetch(bot, allowed_updates=["message"])
    posted = await control.post_message(scene.group, scene.bob, text="before edit")
    await control.edit_message(scene.group, posted["message_id"], "after edit")
    # allowed_updates omitted: the previous setting still applies, so edited_message never got queued.
    updates = await fetch(bot)
    assert [(u.message.text if u.message else None) for u in updates] == ["before edit"]
    await fetch(bot, allowed_updates=[])  # back to the default
    await control.edit_message(scene.group, posted["message_id"], "edited again")
    (update,) = await fetch(bot)
    assert update.edited_message is not None and update.edited_message.text == "edited again"


async def test_command_entity(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    await control.send_command(scene.group, scene.bob, "outage", "朝阳区", bot_username="sandbox123456_bot")
    await control.send_command(scene.group, scene.bob, "outage", bot_username="SomeOtherBot")
    mine, other = await fetch(bot)
    entity = mine.message.entities[0]
    assert (entity.type, entity.offset, entity.length) == ("bot_command", 0, len("/outage@sandbox123456_bot"))
    handler = CommandHandler("outage", lambda u, c: None)  # type: ignore[arg-type, return-value]
    assert handler.check_update(mine)
    assert not handler.check_update(other)  # addressed to another bot


async def test_member_join_and_leave(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    await fetch(bot, allowed_updates=list(Update.ALL_TYPES))
    carol = (await control.add_user("Carol", username="carol"))["id"]
    await control.join(scene.group, carol, by=scene.alice)
    member_update, service = await fetch(bot)
    change = member_update.chat_member
    assert change is not None and change.from_user.id == scene.alice
    assert (change.old_chat_member.status, change.new_chat_member.status) == ("left", "member")
    assert [u.id for u in service.message.new_chat_members] == [carol]
    await control.leave(scene.group, carol)
    member_update, service = await fetch(bot)
    assert (
        member_update.chat_member.old_chat_member.status,
        member_update.chat_member.new_chat_member.status,
    ) == ("member", "left")
    assert service.message.left_chat_member.id == carol
    member = await bot.get_chat_member(scene.group, carol)
    assert member.status == "left"


async def test_bot_added_promoted_and_kicked(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    other = (await control.create_group("Substation", creator=scene.alice))["chat"]["id"]
    await control.join(other, BOT_ID, by=scene.alice)
    added, service = await fetch(bot)
    assert added.my_chat_member.new_chat_member.status == "member"
    assert added.my_chat_member.from_user.id == scene.alice
    assert service.message.new_chat_members[0].id == BOT_ID
    await control.promote(other, BOT_ID, by=scene.alice)
    (promoted,) = await fetch(bot)
    admin = promoted.my_chat_member.new_chat_member
    assert admin.status == "administrator" and isinstance(admin, telegram.ChatMemberAdministrator)
    assert admin.can_restrict_members
    assert {m.user.id for m in await bot.get_chat_administrators(other)} == {scene.alice, BOT_ID}
    await control.leave(other, BOT_ID, by=scene.alice, ban=True)
    (removed,) = await fetch(bot)
    assert removed.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(Forbidden, match=r"(?i)kicked from the group chat"):
        await bot.send_message(other, "still here?")


async def test_callback_query_round_trip(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("已恢复", callback_data="restored"),
                InlineKeyboardButton("未恢复", callback_data="still-out"),
            ]
        ]
    )
    sent = await bot.send_message(scene.group, "供电恢复了吗？", reply_markup=markup)
    query = await control.press_button(scene.group, sent.message_id, scene.bob, data="still-out")
    (update,) = await fetch(bot)
    cq = update.callback_query
    assert cq is not None and cq.id == query["id"] and cq.data == "still-out"
    assert cq.from_user.id == scene.bob and cq.message.message_id == sent.message_id
    assert await cq.answer("已登记", show_alert=True)
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await cq.answer("twice")
    (answer,) = await control.callback_answers()
    assert answer == {
        "callback_query_id": cq.id,
        "bot_id": BOT_ID,
        "text": "已登记",
        "show_alert": True,
        "url": None,
        "cache_time": 0,
    }
    await control.press_button(scene.group, sent.message_id, scene.alice, text="已恢复")
    assert (await fetch(bot))[0].callback_query.data == "restored"
    with pytest.raises(SandboxError):
        await control.press_button(scene.group, sent.message_id, scene.bob, data="nope")


@pytest.mark.parametrize(
    ("kind", "options", "error", "match"),
    [
        ("retry_after", {"retry_after": 7}, RetryAfter, "Retry in 7"),
        ("server_error", {}, NetworkError, "Internal Server Error"),
        ("bad_gateway", {}, NetworkError, "Bad Gateway"),
        ("kicked", {}, Forbidden, "kicked"),
        ("migrated", {"migrate_to_chat_id": -1001234}, ChatMigrated, "-1001234"),
        ("delay", {"delay": 0.5}, TimedOut, None),
    ],
)
async def test_fault_injection_maps_to_ptb_exceptions(
    bot: telegram.Bot,
    control: SandboxClient,
    scene: Scene,
    kind: str,
    options: dict[str, object],
    error: type[Exception],
    match: str | None,
) -> None:
    await control.add_fault("sendMessage", kind, count=1, chat_id=scene.group, **options)
    with pytest.raises(error, match=match) as caught:
        await bot.send_message(scene.group, "notice", read_timeout=0.2)
    if isinstance(caught.value, RetryAfter):
        assert seconds(caught.value) == 7
    if isinstance(caught.value, ChatMigrated):
        assert caught.value.new_chat_id == -1001234
    if kind == "server_error":
        assert not isinstance(caught.value, TimedOut)
    await asyncio.sleep(0.5 if kind == "delay" else 0)  # let the delayed call finish server-side
    assert (await bot.send_message(scene.group, "retry works")).text == "retry works"
    assert await control.faults() == []


async def test_fault_scoped_to_other_chat_is_not_consumed(
    bot: telegram.Bot, control: SandboxClient, scene: Scene
) -> None:
    await control.add_fault("sendMessage", "retry_after", count=2, chat_id=-1)
    await bot.send_message(scene.group, "unaffected")
    assert (await control.faults())[0]["remaining"] == 2
    await control.clear_faults()
    assert await control.faults() == []


async def test_group_migration(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    new = (await control.migrate(scene.group, by=scene.alice))["chat"]
    assert new["type"] == "supergroup" and new["id"] < -1_000_000_000_000
    to_new, from_old = await fetch(bot)
    assert to_new.message.chat.id == scene.group and to_new.message.migrate_to_chat_id == new["id"]
    assert from_old.message.chat.id == new["id"] and from_old.message.migrate_from_chat_id == scene.group
    with pytest.raises(ChatMigrated) as caught:
        await bot.send_message(scene.group, "old id")
    assert caught.value.new_chat_id == new["id"]
    assert (await bot.send_message(caught.value.new_chat_id, "new id")).chat.type == "supergroup"
    assert (await bot.get_chat(new["id"])).type == "supergroup"


async def test_moderation_methods(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    await fetch(bot, allowed_updates=list(Update.ALL_TYPES))
    assert await bot.ban_chat_member(scene.group, scene.bob)
    banned, service = await fetch(bot)
    assert banned.chat_member.new_chat_member.status == "kicked" and banned.chat_member.from_user.id == BOT_ID
    assert service.message.left_chat_member.id == scene.bob
    assert await bot.unban_chat_member(scene.group, scene.bob, only_if_banned=True)
    assert (await bot.get_chat_member(scene.group, scene.bob)).status == "left"
    with pytest.raises(BadRequest, match=r"(?i)chat owner"):
        await bot.ban_chat_member(scene.group, scene.alice)
    with pytest.raises(BadRequest, match=r"(?i)only for supergroups"):
        await bot.restrict_chat_member(scene.group, scene.alice, telegram.ChatPermissions.no_permissions())

    super_id = (
        await control.create_group(
            "Customers", type="supergroup", creator=scene.alice, members=[scene.bob, BOT_ID]
        )
    )["chat"]["id"]
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await bot.restrict_chat_member(super_id, scene.bob, telegram.ChatPermissions.no_permissions())
    await control.promote(super_id, BOT_ID, by=scene.alice)
    assert await bot.restrict_chat_member(super_id, scene.bob, telegram.ChatPermissions.no_permissions())
    restricted = await bot.get_chat_member(super_id, scene.bob)
    assert isinstance(restricted, telegram.ChatMemberRestricted) and not restricted.can_send_messages
    with pytest.raises(SandboxError, match=r"(?i)restricted"):
        await control.post_message(super_id, scene.bob, text="spam")
    assert await bot.restrict_chat_member(super_id, scene.bob, telegram.ChatPermissions.all_permissions())
    assert (await bot.get_chat_member(super_id, scene.bob)).status == "member"

    chat = await bot.get_chat(super_id)
    assert (chat.title, chat.permissions.can_send_messages) == ("Customers", True)
    link = await bot.create_chat_invite_link(super_id, name="vip")
    assert link.invite_link.startswith("https://t.me/+") and link.creator.id == BOT_ID
    commands = [telegram.BotCommand("outage", "停电查询"), telegram.BotCommand("appeal", "工单申诉")]
    assert await bot.set_my_commands(commands)
    assert await bot.get_my_commands() == tuple(commands)


async def test_webhook_delivery_with_secret_and_retry(
    bot: telegram.Bot, control: SandboxClient, scene: Scene
) -> None:
    received: list[dict[str, object]] = []
    secrets: list[str | None] = []
    attempts = 0

    async def hook(request: Request) -> Response:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            return Response(status_code=500)  # the sandbox must retry this update
        secrets.append(request.headers.get("X-Telegram-Bot-Api-Secret-Token"))
        received.append(await request.json())
        return Response(status_code=200)

    async with receiver(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        assert await bot.set_webhook(url, secret_token="s3cret", allowed_updates=["message"])
        with pytest.raises(Conflict, match=r"(?i)webhook is active"):
            await bot.get_updates(timeout=0)
        for n in range(3):
            await control.post_message(scene.group, scene.bob, text=f"hook {n}")
        for _ in range(300):
            if len(received) == 3:
                break
            await asyncio.sleep(0.01)
        info = await bot.get_webhook_info()
    assert [u["message"]["text"] for u in received] == ["hook 0", "hook 1", "hook 2"]  # type: ignore[index]
    assert secrets == ["s3cret"] * 3 and attempts == 4
    ids = [u["update_id"] for u in received]
    assert ids == sorted(ids)
    assert info.url == url and info.pending_update_count == 0 and "500" in (info.last_error_message or "")
    assert await bot.delete_webhook()
    await control.post_message(scene.group, scene.bob, text="polling again")
    assert [u.message.text for u in await fetch(bot)] == ["polling again"]


async def test_webhook_gives_up_after_bounded_retries(
    sandbox: SandboxServer, bot: telegram.Bot, control: SandboxClient, scene: Scene
) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}/hook"
    await bot.set_webhook(dead)
    await control.post_message(scene.group, scene.bob, text="lost")
    for _ in range(300):
        if (await control.get_bot(BOT_ID))["pending_update_count"] == 0:
            break
        await asyncio.sleep(0.01)
    info = await bot.get_webhook_info()
    assert info.pending_update_count == 0 and info.last_error_message
    await bot.delete_webhook()


async def test_flood_limits(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    await control.set_flood_limits(enabled=True, chat_burst=3)
    for n in range(3):
        await bot.send_message(scene.group, f"burst {n}")
    with pytest.raises(RetryAfter) as per_chat:
        await bot.send_message(scene.group, "one too many")
    assert seconds(per_chat.value) == 1

    # 20 messages per minute in a group, even when the per-chat rate would allow more.
    await control.set_flood_limits(enabled=True, chat_burst=100, chat_rate=100)
    for n in range(20):
        await bot.send_message(scene.group, f"m{n}")
    with pytest.raises(RetryAfter) as per_group:
        await bot.send_message(scene.group, "21st")
    assert 55 <= seconds(per_group.value) <= 60

    # 30 messages per second overall, across chats.
    await control.set_flood_limits(enabled=True, global_per_second=30)
    users = [(await control.add_user(f"U{n}"))["id"] for n in range(31)]
    for user in users[:30]:
        await control.create_private_chat(user)
        await bot.send_message(user, "hi")
    await control.create_private_chat(users[30])
    with pytest.raises(RetryAfter) as overall:
        await bot.send_message(users[30], "hi")
    assert seconds(overall.value) == 1
    await control.set_flood_limits(enabled=False)
    assert (await bot.send_message(users[30], "limits off")).text == "limits off"
    statuses = [c["status"] for c in await control.calls(method="sendMessage")]
    assert statuses.count(429) == 3


async def test_application_polling_receives_group_message(
    sandbox: SandboxServer, control: SandboxClient, scene: Scene
) -> None:
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(sandbox.bot_api_url)
        .base_file_url(sandbox.file_url)
        .build()
    )
    seen: list[str] = []
    done = asyncio.Event()

    async def on_text(update: Update, context: CallbackContext) -> None:  # type: ignore[type-arg]
        assert update.message is not None and update.message.text is not None
        seen.append(update.message.text)
        await update.message.reply_text(f"收到：{update.message.text}")
        done.set()

    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text))
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await control.post_message(scene.group, scene.bob, text="什么时候来电？")
        await asyncio.wait_for(done.wait(), 5)
        await app.updater.stop()
        await app.stop()
    assert seen == ["什么时候来电？"]
    (reply,) = await control.wait_for_messages(scene.group, 1)
    assert reply["text"] == "收到：什么时候来电？" and reply["reply_to_message_id"] is not None


async def test_burst_of_updates_is_fast(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    started = time.monotonic()
    batch = [{"user_id": scene.bob, "text": f"burst {n}"} for n in range(3000)]
    ids = await control.post_messages(scene.group, batch)
    assert len(ids) == 3000 and ids == sorted(ids)
    texts: list[str] = []
    offset = 0
    while len(texts) < 3000:
        updates = await bot.get_updates(offset=offset, timeout=0)
        texts += [u.message.text for u in updates]
        offset = updates[-1].update_id + 1
    assert texts == [f"burst {n}" for n in range(3000)]
    assert time.monotonic() - started < 10
    assert (await bot.get_updates(offset=offset, timeout=0)) == ()


async def test_reset_and_stats(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    await control.post_message(scene.group, scene.bob, text="x")
    stats = await control.stats()
    assert stats["chats"] == 1 and stats["pending_updates"] == {str(BOT_ID): 1}
    before = (await bot.get_updates(timeout=0))[-1].update_id
    await control.reset()
    assert (await control.stats())["chats"] == 0
    with pytest.raises(BadRequest, match=r"(?i)[Cc]hat not found"):
        await bot.send_message(scene.group, "gone")
    user = (await control.add_user("New"))["id"]
    await control.post_message(user, user, text="hello bot")  # private chat appears on first message
    (update,) = await bot.get_updates(timeout=0)
    assert update.update_id > before and update.message.chat.type == "private"


async def test_privacy_mode_and_html_offsets(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    await control.add_bot(token=TOKEN, can_read_all_group_messages=False)
    await control.demote(scene.group, BOT_ID, by=scene.alice)
    await drain(bot)
    await control.post_message(scene.group, scene.bob, text="just chatting")
    await control.send_command(scene.group, scene.bob, "outage")
    assert [u.message.text for u in await fetch(bot)] == ["/outage"]  # privacy mode: commands only
    # Entity offsets count UTF-16 code units, so the emoji before the bold word counts twice.
    sent = await bot.send_message(scene.group, "⚡️😀 <b>停电</b>", parse_mode="HTML")
    assert sent.text == "⚡️😀 停电"
    assert (sent.entities[0].offset, sent.entities[0].length) == (5, 2)
    assert sent.parse_entity(sent.entities[0]) == "停电"
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities"):
        await bot.send_message(scene.group, "<blink>no</blink>", parse_mode="HTML")
