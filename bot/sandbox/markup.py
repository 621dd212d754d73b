"""Text entities the way Telegram computes them: HTML parse_mode and auto-detected commands/mentions.

Offsets and lengths are in UTF-16 code units, as in the Bot API (emoji outside the BMP count twice).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from bot.sandbox.errors import ApiError

JSON = dict[str, Any]

# Telegram recognises a command only at a word start; "/cmd@Name" is one bot_command entity.
_COMMAND = re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?")
_MENTION = re.compile(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}")
_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}


def u16len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def detect_entities(text: str) -> list[JSON]:
    """bot_command and mention entities that Telegram adds to a user's text by itself."""
    found: list[JSON] = []
    taken: list[tuple[int, int]] = []
    for match in _COMMAND.finditer(text):
        taken.append(match.span())
        found.append(_entity("bot_command", text, match.start(), match.end()))
    for match in _MENTION.finditer(text):
        if not any(a <= match.start() < b for a, b in taken):
            found.append(_entity("mention", text, match.start(), match.end()))
    found.sort(key=lambda e: (e["offset"], -e["length"]))
    return found


def _entity(kind: str, text: str, start: int, end: int) -> JSON:
    return {"type": kind, "offset": u16len(text[:start]), "length": u16len(text[start:end])}


class _HtmlEntities(HTMLParser):
    """Strips Telegram's HTML subset into plain text plus entities; rejects what Telegram rejects."""

    def __init__(self, raw: str) -> None:
        super().__init__(convert_charrefs=True)
        self.raw = raw
        self.parts: list[str] = []
        self.position = 0
        self.stack: list[tuple[str, int, JSON]] = []
        self.entities: list[JSON] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.position += u16len(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = dict(attrs)
        entity: JSON
        if tag == "a" and attr.get("href"):
            entity = {"type": "text_link", "url": attr["href"]}
        elif tag == "span" and attr.get("class") == "tg-spoiler":
            entity = {"type": "spoiler"}
        elif tag == "tg-emoji" and attr.get("emoji-id"):
            entity = {"type": "custom_emoji", "custom_emoji_id": attr["emoji-id"]}
        elif tag in _SIMPLE_TAGS:
            entity = {"type": _SIMPLE_TAGS[tag]}
            if tag == "blockquote" and "expandable" in attr:
                entity["type"] = "expandable_blockquote"
        else:
            raise self._error(f'Unsupported start tag "{tag}"')
        if tag == "code" and self.stack and self.stack[-1][0] == "pre" and attr.get("class"):
            # <pre><code class="language-x"> sets the language of the enclosing pre entity.
            self.stack[-1][2]["language"] = str(attr["class"]).removeprefix("language-")
        self.stack.append((tag, self.position, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise self._error(f'Unmatched end tag "{tag}"')
        _, start, entity = self.stack.pop()
        if self.position > start:
            self.entities.append({**entity, "offset": start, "length": self.position - start})

    def _error(self, what: str) -> ApiError:
        line, col = self.getpos()
        byte = len("\n".join(self.raw.split("\n")[: line - 1]).encode()) + col + (line > 1)
        return ApiError(400, f"Bad Request: can't parse entities: {what} at byte offset {byte}")


def parse_html(raw: str) -> tuple[str, list[JSON]]:
    """Plain text and entities for a parse_mode=HTML text, or ApiError 400 like Telegram."""
    parser = _HtmlEntities(raw)
    parser.feed(raw)
    parser.close()
    if parser.stack:
        tag = parser.stack[-1][0]
        raise ApiError(
            400, f"Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"{tag}\""
        )
    # Nested code inside pre would duplicate the range; Telegram reports only the pre.
    pres = {(e["offset"], e["length"]) for e in parser.entities if e["type"] == "pre"}
    entities = [
        e for e in parser.entities if not (e["type"] == "code" and (e["offset"], e["length"]) in pres)
    ]
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(parser.parts), entities


def render_text(raw: str, parse_mode: str | None, explicit: list[JSON] | None) -> tuple[str, list[JSON]]:
    """Final text and entities of a bot message (explicit entities win over parse_mode)."""
    if explicit is not None:
        return raw, explicit
    if parse_mode and parse_mode.lower() == "html":
        text, entities = parse_html(raw)
    else:
        # Markdown modes are accepted but not interpreted: the text is kept verbatim.
        text, entities = raw, []
    auto = [e for e in detect_entities(text) if e["type"] == "bot_command"]
    return text, sorted(entities + auto, key=lambda e: (e["offset"], -e["length"]))
