"""User-facing texts from config/templates/<language>.toml, with Chinese as the fallback."""

from __future__ import annotations

import tomllib
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import config

TEMPLATES_DIR = Path(config.__file__).resolve().parent / "templates"
FALLBACK = "zh_CN"


@cache
def _load(language: str) -> dict[str, Any]:
    with (TEMPLATES_DIR / f"{language}.toml").open("rb") as handle:
        return tomllib.load(handle)


def _lookup(table: dict[str, Any], key: str) -> str | None:
    node: Any = table
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, str) else None


class Texts:
    def __init__(self, language: str, tz: ZoneInfo) -> None:
        self.language = language
        self.tz = tz

    def __call__(self, key: str, **values: Any) -> str:
        template = _lookup(_load(self.language), key) or _lookup(_load(FALLBACK), key)
        if template is None:
            raise KeyError(f"no text for {key!r}")
        return template.format(**values)

    def when(self, moment: datetime) -> str:
        """A deadline in plain words; midnight means 'by the end of the previous day'."""
        local = moment.astimezone(self.tz)
        if local.hour == 0 and local.minute == 0:
            day = (local - timedelta(days=1)).date()
            if self.language == "en":
                return f"{day:%a %d %b}"
            return f"{day.month}月{day.day}日（周{'一二三四五六日'[day.weekday()]}）"
        return self.at(moment)

    def at(self, moment: datetime) -> str:
        """A point in time, short: 11月24日 15:30."""
        local = moment.astimezone(self.tz)
        if self.language == "en":
            return f"{local:%d %b %H:%M}"
        return f"{local.month}月{local.day}日 {local:%H:%M}"
