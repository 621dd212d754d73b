"""Bot API methods about files: sendPhoto and getFile (downloads are served by botapi.file_download).

An uploaded photo is kept byte for byte as its largest PhotoSize (Telegram would re-encode it; a test
wants to read back what the bot sent), with real JPEG thumbnails for the smaller sizes. A photo named by
file_id reuses that photo's sizes; one given by URL is not fetched: it gets placeholder sizes and no bytes.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from bot.sandbox.errors import ApiError
from bot.sandbox.markup import render_text
from bot.sandbox.methods import Method, bot_chat, inline_markup, reply_target
from bot.sandbox.params import Params, Upload
from bot.sandbox.records import BotState
from bot.sandbox.world import World

JSON = dict[str, Any]
MAX_CAPTION = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile refuses bigger files
THUMBNAIL_BOXES = (90, 320, 800, 1280)  # Telegram's s, m, x, y sizes; the original is the largest size
_FORMATS = {"PNG": ("png", "image/png"), "JPEG": ("jpg", "image/jpeg"), "GIF": ("gif", "image/gif"),
            "WEBP": ("webp", "image/webp"), "BMP": ("bmp", "image/bmp")}
_WRONG_FILE = "Bad Request: wrong file identifier/HTTP URL specified"


def send_photo(world: World, bot: BotState, p: Params) -> JSON:
    chat = bot_chat(world, bot, p)
    upload, reference = p.upload("photo"), p.raw.get("photo")
    if upload is None and not (isinstance(reference, str) and reference):
        raise ApiError(400, "Bad Request: there is no photo in the request")
    caption, entities = _caption(p)
    reply, markup = reply_target(world, chat, p), inline_markup(p)
    image = _inspect(upload) if upload is not None else None
    sizes = _known_photo(world, bot, str(reference)) if upload is None else None
    world.flood.check(bot.id, chat.info.id, chat.is_group, world.clock())
    if upload is not None and image is not None:
        sizes = _store_upload(world, bot, upload.data, image)
    elif sizes is None:
        sizes = _url_photo(world, bot, str(reference))
    msg = world.new_message(
        chat,
        bot.user(),
        photo=sizes,
        caption=caption or None,
        caption_entities=entities or None,
        show_caption_above_media=True if caption and p.flag("show_caption_above_media") else None,
        has_media_spoiler=True if p.flag("has_spoiler") else None,
        reply_to_message=reply,
        reply_markup=markup,
    )
    world.store(chat, msg, bot_id=bot.id)
    return msg


def get_file(world: World, bot: BotState, p: Params) -> JSON:
    stored = world.file(p.text("file_id") or "", bot.id)
    if stored is None:
        raise ApiError(400, "Bad Request: invalid file_id")
    if stored.file_size > MAX_DOWNLOAD_BYTES:
        raise ApiError(400, "Bad Request: file is too big")
    return stored.get_file()


def _caption(p: Params) -> tuple[str, list[JSON]]:
    """Caption and its entities, parsed like sendMessage's text; blank means no caption."""
    explicit = p.obj("caption_entities") if p.has("caption_entities") else None
    caption, entities = render_text(p.text("caption") or "", p.text("parse_mode"), explicit)
    if not caption.strip():
        return "", []
    if len(caption) > MAX_CAPTION:
        raise ApiError(400, "Bad Request: message caption is too long")
    return caption, entities


def _inspect(upload: Upload) -> tuple[int, int, str]:
    """Width, height and format of an uploaded image, refused the way Telegram refuses it."""
    if len(upload.data) > MAX_PHOTO_BYTES:
        raise ApiError(400, "Bad Request: PHOTO_SAVE_FILE_INVALID")
    try:
        with Image.open(io.BytesIO(upload.data)) as image:
            width, height, kind = image.width, image.height, image.format or ""
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED") from exc
    if kind not in _FORMATS:
        raise ApiError(400, "Bad Request: IMAGE_PROCESS_FAILED")
    if width + height > 10_000 or max(width, height) > 20 * min(width, height):
        raise ApiError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
    return width, height, kind


def _store_upload(world: World, bot: BotState, data: bytes, image: tuple[int, int, str]) -> list[JSON]:
    width, height, kind = image
    extension, media_type = _FORMATS[kind]
    sizes: list[JSON] = []
    files = []
    for box in (b for b in THUMBNAIL_BOXES if b < max(width, height)):
        thumbnail, (w, h) = _thumbnail(data, box)
        stored = world.add_file(thumbnail, "photos", "jpg", bot.id, source="thumbnail", media_type="image/jpeg")
        files.append(stored)
        sizes.append(_size(stored.file_id, stored.file_unique_id, w, h, stored.file_size))
    original = world.add_file(data, "photos", extension, bot.id, source="upload", media_type=media_type)
    files.append(original)
    sizes.append(_size(original.file_id, original.file_unique_id, width, height, original.file_size))
    for stored in files:
        stored.photo = sizes
    return [dict(size) for size in sizes]


def _thumbnail(data: bytes, box: int) -> tuple[bytes, tuple[int, int]]:
    with Image.open(io.BytesIO(data)) as image:
        small = image.convert("RGB")
        small.thumbnail((box, box))
        out = io.BytesIO()
        small.save(out, format="JPEG", quality=80)
        return out.getvalue(), small.size


def _known_photo(world: World, bot: BotState, reference: str) -> list[JSON] | None:
    """The sizes of a photo this bot already has a file_id of; None for a URL; 400 otherwise."""
    if reference.startswith(("http://", "https://")):
        return None
    stored = world.file(reference, bot.id)
    if stored is None or stored.photo is None:
        raise ApiError(400, _WRONG_FILE)
    return [dict(size) for size in stored.photo]


def _url_photo(world: World, bot: BotState, url: str) -> list[JSON]:
    """Telegram would fetch the URL; the sandbox does not: placeholder sizes, no bytes to download."""
    sizes: list[JSON] = []
    files = []
    for width in (90, 320, 800):
        stored = world.add_file(None, "photos", "jpg", bot.id, size=width * 40, source="url", url=url,
                                media_type="image/jpeg")
        files.append(stored)
        sizes.append(_size(stored.file_id, stored.file_unique_id, width, width * 3 // 4, stored.file_size))
    for stored in files:
        stored.photo = sizes
    return [dict(size) for size in sizes]


def _size(file_id: str, unique_id: str, width: int, height: int, file_size: int) -> JSON:
    return {"file_id": file_id, "file_unique_id": unique_id, "width": width, "height": height,
            "file_size": file_size}


MEDIA_METHODS: dict[str, Method] = {
    "sendphoto": send_photo,
    "getfile": get_file,
}
