"""sendPhoto and getFile in the sandbox, driven by the real python-telegram-bot 22 client."""

from __future__ import annotations

import io

import httpx
import pytest
import telegram
from PIL import Image, ImageDraw
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.error import BadRequest, RetryAfter

from bot.sandbox import SandboxClient, SandboxError, SandboxServer, World
from bot.sandbox.params import Params, Upload, decoded, parse_body
from tests.bot.sandbox_scene import BOT_ID, TOKEN, Scene

pytestmark = pytest.mark.filterwarnings("ignore:.*retry_after.*:telegram.warnings.PTBDeprecationWarning")
OTHER_TOKEN = "777:another-bot"


def png(width: int = 800, height: int = 600) -> bytes:
    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).rectangle((width // 4, height // 4, width // 2, height // 2), fill="#4c78a8")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


async def test_an_uploaded_photo_comes_back_byte_for_byte(
    bot: telegram.Bot, control: SandboxClient, scene: Scene
) -> None:
    chart = png()
    await control.create_private_chat(scene.alice)  # the supervisor's private chat with the bot
    sent = await bot.send_photo(scene.alice, photo=chart, caption="<b>日报</b> 11月29日", parse_mode="HTML")
    assert sent.caption == "日报 11月29日"
    assert [(e.type, e.offset, e.length) for e in sent.caption_entities] == [("bold", 0, 2)]
    assert [(size.width, size.height) for size in sent.photo] == [(90, 68), (320, 240), (800, 600)]
    largest = sent.photo[-1]
    assert largest.file_size == len(chart)
    assert len({size.file_id for size in sent.photo}) == len({size.file_unique_id for size in sent.photo}) == 3

    # The bot reads its file back the way PTB does it against Telegram: getFile, then the file URL.
    file = await bot.get_file(largest.file_id)
    assert (file.file_id, file.file_size) == (largest.file_id, len(chart))
    assert file.file_path is not None and file.file_path.endswith(".png")
    assert bytes(await file.download_as_bytearray()) == chart
    thumbnail = await (await bot.get_file(sent.photo[1].file_id)).download_as_bytearray()
    with Image.open(io.BytesIO(thumbnail)) as small:
        assert (small.format, small.size) == ("JPEG", (320, 240))

    # What a test of the service reads: the photo, its caption and its bytes, through the control API.
    [photo] = await control.photos(scene.alice)
    assert (photo["message_id"], photo["bot_id"], photo["caption"]) == (sent.message_id, BOT_ID, "日报 11月29日")
    assert (photo["file_id"], photo["file_size"], photo["width"], photo["height"]) == (
        largest.file_id,
        len(chart),
        800,
        600,
    )
    assert photo["sizes"] == [[90, 68], [320, 240], [800, 600]]
    assert await control.file_content(photo["file_id"]) == chart
    [view] = await control.bot_messages(scene.alice)
    assert (view["caption"], view["text"], view["photo"]["file_size"]) == ("日报 11月29日", "日报 11月29日", len(chart))
    # The call log names the upload without holding its bytes.
    [call] = await control.calls(method="sendPhoto")
    assert call["params"]["photo"]["size"] == len(chart) and set(call["params"]["photo"]) == {"file_name", "size"}


async def test_caption_limit_is_1024_characters_after_markup(bot: telegram.Bot, scene: Scene) -> None:
    fits = await bot.send_photo(scene.group, photo=png(), caption="<i>" + "电" * 1024 + "</i>", parse_mode="HTML")
    assert fits.caption == "电" * 1024
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await bot.send_photo(scene.group, photo=png(), caption="电" * 1025)


async def test_refusals_use_telegrams_words(sandbox: SandboxServer, bot: telegram.Bot, scene: Scene) -> None:
    async with httpx.AsyncClient(base_url=f"{sandbox.bot_api_url}{TOKEN}") as http:
        too_long = await http.post("/sendPhoto", data={"chat_id": str(scene.group), "caption": "x" * 1025},
                                   files={"photo": ("chart.png", png())})
        assert (too_long.status_code, too_long.json()["description"]) == (
            400,
            "Bad Request: message caption is too long",
        )
        nothing = await http.post("/sendPhoto", json={"chat_id": scene.group, "caption": "no photo"})
        assert nothing.json()["description"] == "Bad Request: there is no photo in the request"
        not_an_image = await http.post("/sendPhoto", data={"chat_id": str(scene.group)},
                                       files={"photo": ("chart.png", b"not a picture")})
        assert not_an_image.json()["description"] == "Bad Request: IMAGE_PROCESS_FAILED"
        too_thin = await http.post("/sendPhoto", data={"chat_id": str(scene.group)},
                                   files={"photo": ("line.png", png(2100, 100))})
        assert too_thin.json()["description"] == "Bad Request: PHOTO_INVALID_DIMENSIONS"
        bad_file = await http.post("/getFile", json={"file_id": "nope"})
        assert bad_file.json()["description"] == "Bad Request: invalid file_id"
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier/HTTP URL specified"):
        await bot.send_photo(scene.group, photo="no-such-file-id")


async def test_reply_keyboard_and_resending_by_file_id(
    bot: telegram.Bot, control: SandboxClient, scene: Scene
) -> None:
    asked = await control.post_message(scene.group, scene.bob, text="本周工单情况？")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("详情", callback_data="digest:detail")]])
    first = await bot.send_photo(
        scene.group,
        photo=png(),
        caption="周报",
        reply_parameters=ReplyParameters(asked["message_id"]),
        reply_markup=keyboard,
    )
    assert first.reply_to_message is not None and first.reply_to_message.text == "本周工单情况？"
    assert first.reply_markup == keyboard
    pressed = await control.press_button(scene.group, first.message_id, scene.bob, data="digest:detail")
    assert pressed["message"]["photo"][-1]["file_id"] == first.photo[-1].file_id

    again = await bot.send_photo(scene.group, photo=first.photo[-1].file_id, caption="再发一次")
    assert [size.file_id for size in again.photo] == [size.file_id for size in first.photo]
    with pytest.raises(BadRequest, match=r"(?i)no text in the message to edit"):
        await bot.edit_message_text("改成文字", scene.group, first.message_id)


async def test_a_photo_by_url_has_sizes_but_no_bytes(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    sent = await bot.send_photo(scene.group, photo="https://example.com/chart.png", caption="外链")
    assert len(sent.photo) == 3 and sent.caption == "外链"
    file = await bot.get_file(sent.photo[-1].file_id)
    with pytest.raises(telegram.error.TelegramError):
        await file.download_as_bytearray()
    [stored] = [f for f in await control.files() if f["file_id"] == sent.photo[-1].file_id]
    assert (stored["source"], stored["url"], stored["has_data"]) == ("url", "https://example.com/chart.png", False)
    with pytest.raises(SandboxError) as missing:
        await control.file_content(stored["file_id"])
    assert missing.value.code == 404


async def test_files_belong_to_the_bot_that_sent_them(
    sandbox: SandboxServer, bot: telegram.Bot, control: SandboxClient, scene: Scene
) -> None:
    await control.create_private_chat(scene.alice)
    sent = await bot.send_photo(scene.alice, photo=png())
    [path] = [f["file_path"] for f in await control.files() if f["file_id"] == sent.photo[-1].file_id]
    async with telegram.Bot(OTHER_TOKEN, base_url=sandbox.bot_api_url, base_file_url=sandbox.file_url) as other:
        with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
            await other.get_file(sent.photo[-1].file_id)
        with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
            await other.send_photo(scene.alice, photo=sent.photo[-1].file_id)
    async with httpx.AsyncClient(base_url=sandbox.base_url) as http:
        assert (await http.get(f"/file/bot{OTHER_TOKEN}/{path}")).status_code == 404
        assert (await http.get(f"/file/bot{TOKEN}/{path}")).status_code == 200
        assert (await http.get(f"/file/bot{BOT_ID}:wrong-secret/{path}")).status_code == 401


async def test_photos_count_against_the_flood_limits(bot: telegram.Bot, control: SandboxClient, scene: Scene) -> None:
    await control.set_flood_limits(enabled=True, chat_burst=2)
    await bot.send_message(scene.group, "text first")
    await bot.send_photo(scene.group, photo=png())
    with pytest.raises(RetryAfter):
        await bot.send_photo(scene.group, photo=png())
    assert len(await control.photos(scene.group)) == 1
    assert len(await control.files()) == 3  # the refused photo stored nothing


def test_uploads_keep_their_bytes_and_the_log_does_not() -> None:
    body = (
        b"--b\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n42\r\n"
        b"--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"a.png\"\r\n"
        b"Content-Type: image/png\r\n\r\n\x89PNG\r\n\x00data\r\n--b--\r\n"
    )
    raw = parse_body("multipart/form-data; boundary=b", body, {})
    upload = raw["photo"]
    assert isinstance(upload, Upload) and upload == {"file_name": "a.png", "size": 11}
    assert (upload.data, upload.content_type) == (b"\x89PNG\r\n\x00data", "image/png")
    assert Params({**raw, "media": "attach://photo"}).upload("media") is upload
    logged = decoded(raw)["photo"]
    assert type(logged) is dict and logged == {"file_name": "a.png", "size": 11}


def test_stored_files_are_bounded_oldest_first() -> None:
    world = World(max_file_bytes=100)
    first = world.add_file(b"a" * 60, "photos", "png", bot_id=1)
    second = world.add_file(b"b" * 60, "photos", "png", bot_id=1)
    assert world.file(first.file_id) is None and world.file_by_path(first.file_path) is None
    assert world.file(second.file_id, bot_id=1) is second and world.file(second.file_id, bot_id=2) is None
    world.reset()
    assert world.add_file(b"c", "photos", "png").file_id not in (first.file_id, second.file_id)
