"""The engine: current lists, the matcher built from them, and the leak detectors.

Matching reads one attribute (the current ``_State``) and never takes a lock, so it never waits.
Changing lists (add, remove, reload) builds a new matcher from the new lists under a writers' lock
and swaps the new state in with one assignment; a ``find`` already running finishes on the old one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from sensitive_words.automaton.matcher import BoundaryCheck, Matcher
from sensitive_words.boundary import JiebaBoundary
from sensitive_words.detectors import Detectors
from sensitive_words.hits import Hit
from sensitive_words.lists import ListFormatError, Whitelist, WordEntry, WordList, parse_entry

DATA = Path(__file__).with_name("data")
STARTER_WORDS = DATA / "starter_words.txt"
STARTER_WHITELIST = DATA / "starter_whitelist.txt"
RUNTIME = "runtime"
_ORDER = attrgetter("start", "end")


@dataclass(frozen=True, slots=True)
class _State:
    lists: tuple[WordList, ...]
    whitelists: tuple[Whitelist, ...]
    matcher: Matcher


def _entry(item: WordEntry | str) -> WordEntry:
    if isinstance(item, WordEntry):
        return item
    try:
        parsed = parse_entry(item)
    except ValueError as exc:
        raise ListFormatError(f"{item!r}: {exc}") from None
    if parsed is None:
        raise ListFormatError(f"not a word entry: {item!r}")
    return parsed


class SensitiveWordEngine:
    """Word lists + whitelists + detectors; ``find(text)`` returns every hit in order of position.

    ``detectors=None`` enables every detector (``Detectors(enabled=())`` disables them all);
    ``use_jieba`` enables the word-boundary check of entries flagged ``boundary``.
    """

    def __init__(
        self,
        lists: Iterable[WordList] = (),
        whitelists: Iterable[Whitelist] = (),
        *,
        detectors: Detectors | None = None,
        use_jieba: bool = True,
    ) -> None:
        self.detectors = Detectors() if detectors is None else detectors
        self._boundary: BoundaryCheck | None = JiebaBoundary() if use_jieba else None
        self._lock = threading.Lock()
        self._state = self._build(tuple(lists), tuple(whitelists))

    @classmethod
    def from_files(
        cls,
        words: str | Path | Iterable[str | Path],
        allow: str | Path | Iterable[str | Path] | None = None,
        *,
        detectors: Detectors | None = None,
        use_jieba: bool = True,
    ) -> SensitiveWordEngine:
        """Lists read from files (one path or several); their files are read again by ``reload``."""

        def paths(arg: str | Path | Iterable[str | Path] | None) -> list[Path]:
            if arg is None:
                return []
            return [Path(arg)] if isinstance(arg, str | Path) else [Path(p) for p in arg]

        return cls(
            [WordList.from_file(p) for p in paths(words)],
            [Whitelist.from_file(p) for p in paths(allow)],
            detectors=detectors,
            use_jieba=use_jieba,
        )

    @classmethod
    def starter(cls, *, detectors: Detectors | None = None, use_jieba: bool = True) -> SensitiveWordEngine:
        """The shipped starter list and whitelist (data/starter_*.txt)."""
        return cls.from_files(STARTER_WORDS, STARTER_WHITELIST, detectors=detectors, use_jieba=use_jieba)

    # -- matching ----------------------------------------------------------------------------------
    def find(self, text: str) -> list[Hit]:
        hits, allowed, folded = self._state.matcher.scan(text)
        found = self.detectors.find(text, folded)
        if found:
            if allowed:
                found = [h for h in found if not any(a <= h.start and h.end <= b for a, b in allowed)]
            hits = hits + found
            hits.sort(key=_ORDER)
        return hits

    @property
    def matcher(self) -> Matcher:
        return self._state.matcher

    @property
    def lists(self) -> tuple[WordList, ...]:
        return self._state.lists

    @property
    def whitelists(self) -> tuple[Whitelist, ...]:
        return self._state.whitelists

    # -- changing lists (atomic swap) ----------------------------------------------------------------
    def _build(self, lists: tuple[WordList, ...], whitelists: tuple[Whitelist, ...]) -> _State:
        entries = (e for wl in lists for e in wl.entries)
        phrases = (p for w in whitelists for p in w.phrases)
        return _State(lists, whitelists, Matcher(entries, phrases, self._boundary))

    def _change(
        self,
        lists: Callable[[tuple[WordList, ...]], tuple[WordList, ...]] | None = None,
        whitelists: Callable[[tuple[Whitelist, ...]], tuple[Whitelist, ...]] | None = None,
    ) -> None:
        with self._lock:
            old = self._state
            new_lists = lists(old.lists) if lists else old.lists
            new_white = whitelists(old.whitelists) if whitelists else old.whitelists
            self._state = self._build(new_lists, new_white)

    def add_list(self, word_list: WordList) -> None:
        """Add a list, replacing the list of the same name."""
        self._change(lists=lambda ls: (*(x for x in ls if x.name != word_list.name), word_list))

    def remove_list(self, name: str) -> None:
        self._change(lists=lambda ls: tuple(x for x in ls if x.name != name))

    def add_whitelist(self, whitelist: Whitelist) -> None:
        self._change(whitelists=lambda ws: (*(x for x in ws if x.name != whitelist.name), whitelist))

    def remove_whitelist(self, name: str) -> None:
        self._change(whitelists=lambda ws: tuple(x for x in ws if x.name != name))

    def add_words(self, words: Iterable[WordEntry | str], list_name: str = RUNTIME) -> None:
        """Add entries (``WordEntry`` or list-file lines such as ``"词\\tads\\tblock"``) to a list."""
        added = tuple(_entry(w) for w in words)

        def change(ls: tuple[WordList, ...]) -> tuple[WordList, ...]:
            if any(x.name == list_name for x in ls):
                return tuple(x.with_entries(added) if x.name == list_name else x for x in ls)
            return (*ls, WordList(list_name, added))

        self._change(lists=change)

    def remove_words(self, words: Iterable[str]) -> None:
        """Remove entries with these exact spellings from every list."""
        gone = tuple(words)
        self._change(lists=lambda ls: tuple(x.without_words(gone) for x in ls))

    def allow(self, phrases: Iterable[str], list_name: str = RUNTIME) -> None:
        """Whitelist phrases at run time."""
        added = tuple(phrases)

        def change(ws: tuple[Whitelist, ...]) -> tuple[Whitelist, ...]:
            if any(x.name == list_name for x in ws):
                return tuple(x.with_phrases(added) if x.name == list_name else x for x in ws)
            return (*ws, Whitelist(list_name, added))

        self._change(whitelists=change)

    def disallow(self, phrases: Iterable[str]) -> None:
        gone = tuple(phrases)
        self._change(whitelists=lambda ws: tuple(x.without_phrases(gone) for x in ws))

    def reload(self) -> None:
        """Read the file-backed lists again; on a read or format error the current state stays."""
        self._change(
            lists=lambda ls: tuple(x.reloaded() for x in ls),
            whitelists=lambda ws: tuple(x.reloaded() for x in ws),
        )
