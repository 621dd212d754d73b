"""The dashboard's own texts, from config/templates/web/<language>.toml, with Chinese as the fallback.

The bot's chat texts (config/templates/<language>.toml) stay apart: kinds, statuses and ticket actions come
from there (handlers.i18n.Texts), so the page and the chat always name a thing the same way.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import config

WEB_TEXTS_DIR = Path(config.__file__).resolve().parent / "templates" / "web"
LANGUAGES = ("zh_CN", "en")
FALLBACK = "zh_CN"


def _flatten(table: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = str(value)
    return flat


@cache
def _load(language: str) -> dict[str, str]:
    with (WEB_TEXTS_DIR / f"{language}.toml").open("rb") as handle:
        return _flatten(tomllib.load(handle))


class WebTexts:
    def __init__(self, language: str) -> None:
        self.language = language if language in LANGUAGES else FALLBACK

    def __call__(self, key: str, **values: Any) -> str:
        template = _load(self.language).get(key) or _load(FALLBACK).get(key)
        if template is None:
            raise KeyError(f"no dashboard text for {key!r}")
        return template.format(**values) if values else template

    def has(self, key: str) -> bool:
        return key in _load(self.language) or key in _load(FALLBACK)
