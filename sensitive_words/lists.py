"""Word lists and whitelists: parsing the text files and holding their entries.

A word list has one entry per line: ``word``, ``word<TAB>category``, ``word<TAB>category<TAB>level``
or, with flags, ``word<TAB>category<TAB>level<TAB>flags``. ``#`` starts a comment; empty fields take
the defaults (category of the list, level ``review``). The only flag is ``boundary``: the hit is
dropped when it straddles word boundaries (needs the jieba check of the engine).

A whitelist has one phrase per line: a hit lying inside an occurrence of a phrase is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from sensitive_words.hits import Level

DEFAULT_CATEGORY = "general"
FLAGS = frozenset({"boundary"})


class ListFormatError(ValueError):
    """A line of a list file that cannot be read; names the source and the line."""


@dataclass(frozen=True, slots=True)
class WordEntry:
    word: str
    category: str = DEFAULT_CATEGORY
    level: Level = Level.REVIEW
    boundary: bool = False


def _strip_comment(line: str) -> str:
    return line.split("#", 1)[0].rstrip("\r\n")


def parse_entry(line: str, default_category: str = DEFAULT_CATEGORY) -> WordEntry | None:
    """One line of a word list; ``None`` for blank and comment lines."""
    fields = [f.strip() for f in _strip_comment(line).split("\t")]
    if not fields[0]:
        if any(fields):
            raise ValueError("empty word")
        return None
    if len(fields) > 4:
        raise ValueError(f"too many fields ({len(fields)})")
    word = fields[0]
    category = fields[1] if len(fields) > 1 and fields[1] else default_category
    level_text = fields[2].lower() if len(fields) > 2 and fields[2] else Level.REVIEW.value
    try:
        level = Level(level_text)
    except ValueError:
        raise ValueError(f"unknown level {level_text!r} (block, review, log)") from None
    flags = set(fields[3].replace(",", " ").split()) if len(fields) > 3 else set()
    if flags - FLAGS:
        raise ValueError(f"unknown flag(s) {sorted(flags - FLAGS)} (known: {sorted(FLAGS)})")
    return WordEntry(word, category, level, "boundary" in flags)


@dataclass(frozen=True, slots=True)
class WordList:
    """A named, immutable list of entries; ``path`` is set when it was read from a file."""

    name: str
    entries: tuple[WordEntry, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @classmethod
    def from_lines(
        cls, lines: Iterable[str], name: str = "words", default_category: str = DEFAULT_CATEGORY
    ) -> WordList:
        entries: list[WordEntry] = []
        for number, line in enumerate(lines, 1):
            try:
                entry = parse_entry(line, default_category)
            except ValueError as exc:
                raise ListFormatError(f"{name}:{number}: {exc}") from None
            if entry is not None:
                entries.append(entry)
        return cls(name, tuple(entries))

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None, default_category: str = DEFAULT_CATEGORY) -> WordList:
        p = Path(path)
        text = p.read_text(encoding="utf-8-sig")
        loaded = cls.from_lines(text.splitlines(), name or p.stem, default_category)
        return replace(loaded, path=p)

    def reloaded(self) -> WordList:
        """The same list read again from its file (itself when it has none)."""
        return self if self.path is None else WordList.from_file(self.path, self.name)

    def with_entries(self, entries: Iterable[WordEntry]) -> WordList:
        return replace(self, entries=self.entries + tuple(entries))

    def without_words(self, words: Iterable[str]) -> WordList:
        drop = set(words)
        return replace(self, entries=tuple(e for e in self.entries if e.word not in drop))

    def __len__(self) -> int:
        return len(self.entries)


@dataclass(frozen=True, slots=True)
class Whitelist:
    """Phrases whose occurrences shield the hits lying inside them (垃圾分类 shields 垃圾)."""

    name: str
    phrases: tuple[str, ...] = ()
    path: Path | None = field(default=None, compare=False)

    @classmethod
    def from_lines(cls, lines: Iterable[str], name: str = "whitelist") -> Whitelist:
        phrases = []
        for line in lines:
            phrase = _strip_comment(line).split("\t", 1)[0].strip()
            if phrase:
                phrases.append(phrase)
        return cls(name, tuple(phrases))

    @classmethod
    def from_file(cls, path: str | Path, name: str | None = None) -> Whitelist:
        p = Path(path)
        loaded = cls.from_lines(p.read_text(encoding="utf-8-sig").splitlines(), name or p.stem)
        return replace(loaded, path=p)

    def reloaded(self) -> Whitelist:
        return self if self.path is None else Whitelist.from_file(self.path, self.name)

    def with_phrases(self, phrases: Iterable[str]) -> Whitelist:
        return replace(self, phrases=self.phrases + tuple(phrases))

    def without_phrases(self, phrases: Iterable[str]) -> Whitelist:
        drop = set(phrases)
        return replace(self, phrases=tuple(p for p in self.phrases if p not in drop))

    def __len__(self) -> int:
        return len(self.phrases)
