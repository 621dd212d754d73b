"""``gridbot words check``: texts one per line on stdin, one JSON object per line on stdout.

The typer command lives in bot/; it calls ``run_check``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from sensitive_words.engine import SensitiveWordEngine
from sensitive_words.lists import ListFormatError


def check_lines(lines: Iterable[str], engine: SensitiveWordEngine) -> Iterator[dict[str, Any]]:
    """``{"line": N, "hits": [...]}`` for each line (numbered from 1, line ending removed)."""
    for number, line in enumerate(lines, 1):
        text = line.removesuffix("\n").removesuffix("\r")
        yield {"line": number, "hits": [hit.to_dict() for hit in engine.find(text)]}


def run_check(words_path: str | Path, allow_path: str | Path | None, stdin: TextIO, stdout: TextIO) -> int:
    """Exit status: 0 when the texts were checked, 2 when a list cannot be read."""
    try:
        engine = SensitiveWordEngine.from_files(words_path, allow_path)
    except (OSError, UnicodeDecodeError, ListFormatError) as exc:
        print(f"gridbot words check: {exc}", file=sys.stderr)
        return 2
    for result in check_lines(stdin, engine):
        stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    stdout.flush()
    return 0
