"""The optional jieba check: a boundary-sensitive hit must start and end on word boundaries.

证明 is a hit in 请交结婚证明 but not in 结婚证明天交 (结婚/证/明天/交). The check segments a small
window of the normalised text around the hit with a private ``jieba.Tokenizer`` (the dictionary is
loaded on first use, about a second) and keeps the hit when its start is the start of a token and its
end the end of one.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from sensitive_words.normalise import normalise

WINDOW = 12


class JiebaBoundary:
    """Callable ``(text, start, end) -> bool``; True when the hit sits on jieba word boundaries."""

    def __init__(self, window: int = WINDOW) -> None:
        self.window = window
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    def _get(self) -> Any:
        if self._tokenizer is None:
            with self._lock:
                if self._tokenizer is None:
                    import jieba

                    jieba.setLogLevel(logging.WARNING)
                    tokenizer = jieba.Tokenizer()
                    tokenizer.initialize()
                    self._tokenizer = tokenizer
        return self._tokenizer

    def __call__(self, text: str, start: int, end: int) -> bool:
        lo = max(0, start - self.window)
        hi = min(len(text), end + self.window)
        chunk = normalise(text[lo:hi])
        starts: set[int] = set()
        ends: set[int] = set()
        for _word, a, b in self._get().tokenize(chunk):
            starts.add(a + lo)
            ends.add(b + lo)
        return start in starts and end in ends
