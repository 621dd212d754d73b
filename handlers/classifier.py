"""The appeal classifier: a customer's group message → one `Kind` with a confidence and the cues seen.

The knowledge lives in a TOML lexicon (config/appeal_lexicon.toml, format documented there); this
module only normalises text, cuts it into words with a private jieba tokenizer that knows the
lexicon's cues, adds up cue weights per kind and decides.  When the lexicon finds no appeal, a small Naive
Bayes trained on example messages and on the lexicon's cues (handlers/classifier_stats.py) may give a second
opinion, taken only when it is confident and the message is on the station's business.  It never raises on
any `str`.
"""

from __future__ import annotations

import functools
import importlib.resources
import logging
import math
import re
import threading
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jieba

from handlers.classifier_stats import NaiveBayes, features, read_examples, top_features
from handlers.types import Kind

__all__ = ["Classification", "Classifier", "LexiconError"]

log = logging.getLogger(__name__)

APPEAL_KINDS: tuple[Kind, ...] = tuple(k for k in Kind if k is not Kind.NONE)
_ZERO_WIDTH = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad]")
_STICKER = re.compile(r"\[[^\[\]\s]{1,6}\]")
# Emoji and pictographs (after NFKC): the symbol blocks most chat apps send.
_EMOJI = re.compile(
    "[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\u2300-\u23ff\u3297\u3299\ufe0f\u200d]"
)
_CONTENT = re.compile(r"[0-9a-z\u3400-\u9fff]")
_GROUP_NAME = re.compile(r"[a-z_]+")
_GROUP_REF = re.compile(r"\{([a-z_]+)\}")
_ASCII_WORD = re.compile(r"[0-9a-z]")
_RUN = re.compile(r"[0-9a-z\u3400-\u9fff]+")


class LexiconError(ValueError):
    """The lexicon file is malformed; the message names the bad entry."""


@dataclass(frozen=True, slots=True)
class Classification:
    kind: Kind
    confidence: float
    cues: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Pattern:
    regex: re.Pattern[str]
    weight: float


@dataclass(frozen=True, slots=True)
class _Section:
    """The cues of one kind (or of chat, for `none`)."""

    threshold: float
    needs_domain: bool
    cues: Mapping[str, float]
    negative: Mapping[str, float]
    patterns: tuple[_Pattern, ...]
    negative_patterns: tuple[_Pattern, ...]


@dataclass(frozen=True, slots=True)
class _Settings:
    max_chars: int
    word_freq: int
    chat_margin: float
    off_domain_factor: float
    sticker_chat: float
    emoji_chat: float
    max_symbol_chat: float
    priority: tuple[Kind, ...]
    domain: tuple[str, ...]
    not_domain: tuple[str, ...]
    char_map: Mapping[int, str]


@dataclass(frozen=True, slots=True)
class _SecondOpinion:
    """The [second_opinion] settings: when the Naive Bayes may overrule a `none` of the lexicon."""

    examples: tuple[tuple[Kind, str], ...]
    alpha: float
    none_odds: float
    cue_weight: float
    min_probability: float
    agree_probability: float
    agree_fraction: float
    max_chat: float
    min_chars: int
    confidence: float


@dataclass(frozen=True, slots=True)
class _Score:
    score: float
    cues: tuple[str, ...]
    vetoed: bool = False  # a negative cue or pattern of the kind matched


class Classifier:
    """Scores a message against the lexicon.  Build with `from_file` or `default`; thread-safe."""

    def __init__(self, settings: _Settings, sections: Mapping[Kind, _Section],
                 second_opinion: _SecondOpinion | None = None) -> None:
        self._settings = settings
        self._sections = dict(sections)
        self._second = second_opinion
        self._tokenizer: jieba.Tokenizer | None = None
        self._model: NaiveBayes | None = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_file(cls, path: str | Path) -> Classifier:
        with open(path, "rb") as fh:
            try:
                data = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise LexiconError(f"{path}: {exc}") from exc
        return cls.from_mapping(data, source=str(path), base_dir=Path(path).parent)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "<lexicon>",
                     base_dir: Path | None = None) -> Classifier:
        """`base_dir` is where a relative [second_opinion].examples path is looked for first."""
        groups = _parse_groups(data.get("groups", {}), source)
        return cls(_parse_settings(data.get("general", {}), source), _parse_sections(data, groups, source),
                   _parse_second_opinion(data.get("second_opinion"), source, base_dir))

    @classmethod
    def default(cls) -> Classifier:
        """The classifier of the lexicon shipped in the `config` package (built once, then shared)."""
        return _default_classifier()

    # ------------------------------------------------------------------ classification
    def classify(self, text: str) -> Classification:
        try:
            return self._classify(text)
        except Exception:  # never let one odd message break the pipeline
            size = len(text) if isinstance(text, str) else -1
            log.exception("classifier failed on a message of %d chars", size)
            return Classification(Kind.NONE, 0.0, ())

    def _classify(self, text: str) -> Classification:
        if not isinstance(text, str):
            return Classification(Kind.NONE, 0.0, ())
        norm, symbol_chat = self.normalise(text)
        if not _CONTENT.search(norm):
            # empty, whitespace, punctuation, emoji or stickers only: chat
            return Classification(Kind.NONE, 0.95 if symbol_chat else 0.9, ("<no text>",))
        words = self.tokens(norm)
        starts, ends = _boundaries(norm, words)
        is_domain = self._on_domain(norm)
        scores: dict[Kind, _Score] = {}
        for kind, section in self._sections.items():
            found = _score(section, norm, starts, ends)
            if section.needs_domain and not is_domain:
                found = _Score(found.score * self._settings.off_domain_factor, found.cues, found.vetoed)
            scores[kind] = found
        chat = scores[Kind.NONE]
        chat_score = chat.score + symbol_chat
        order = {kind: i for i, kind in enumerate(self._settings.priority)}
        ranked = sorted(APPEAL_KINDS, key=lambda k: (-scores[k].score, order.get(k, len(order))))
        best, runner_up = ranked[0], ranked[1]
        best_score, second = scores[best].score, scores[runner_up].score
        threshold = self._sections[best].threshold
        if best_score >= threshold and best_score > chat_score * self._settings.chat_margin:
            return Classification(best, _appeal_confidence(best_score, threshold, second, chat_score),
                                  scores[best].cues)
        opinion = self._second_opinion(norm, words, scores, chat_score) if is_domain else None
        if opinion is not None:
            return opinion
        chat_cues = chat.cues + (("<emoji>",) if symbol_chat else ())
        return Classification(Kind.NONE, _chat_confidence(chat_score, best_score, threshold), chat_cues)

    def _second_opinion(self, norm: str, words: list[str], scores: Mapping[Kind, _Score],
                        chat_score: float) -> Classification | None:
        """The Naive Bayes verdict on a message the lexicon called chat, when it may be trusted."""
        rules, model = self._second, self._get_model()
        if rules is None or model is None or chat_score >= rules.max_chat:
            return None
        if len("".join(_RUN.findall(norm))) < rules.min_chars:
            return None
        found = features(norm, words)
        posterior = model.posterior(found)
        if posterior is None:
            return None
        kind = max(posterior, key=posterior.__getitem__)
        if kind is Kind.NONE or scores[kind].vetoed:  # the lexicon said explicitly: not this kind
            return None
        probability = posterior[kind]
        agrees = scores[kind].score >= rules.agree_fraction * self._sections[kind].threshold
        if probability < rules.min_probability and not (agrees and probability >= rules.agree_probability):
            return None
        cues = ("<second opinion>", *scores[kind].cues, *top_features(model, sorted(found), kind))
        return Classification(kind, _clamp(rules.confidence * probability), tuple(dict.fromkeys(cues)))

    def _on_domain(self, norm: str) -> bool:
        """A `domain` word occurs once everyday words that merely contain one (电视, 电话, 表情) are blanked."""
        for word in self._settings.not_domain:
            if word in norm:
                norm = norm.replace(word, " ")
        return any(word in norm for word in self._settings.domain)

    # ------------------------------------------------------------------ text handling
    def normalise(self, text: str) -> tuple[str, float]:
        """The analysed form of `text` and the chat evidence of its stickers and emoji."""
        settings = self._settings
        text = text[: settings.max_chars * 2]  # NFKC may shrink the text; cap before the work
        text = unicodedata.normalize("NFKC", text).lower()
        text = _ZERO_WIDTH.sub("", text).translate(settings.char_map)
        stickers = len(_STICKER.findall(text))
        text = _STICKER.sub(" ", text)
        emoji = len(_EMOJI.findall(text))
        text = _EMOJI.sub(" ", text)
        text = " ".join(text.split())[: settings.max_chars]
        symbol_chat = stickers * settings.sticker_chat + emoji * settings.emoji_chat
        symbol_chat = min(settings.max_symbol_chat, symbol_chat)
        return text, symbol_chat

    def tokens(self, text: str) -> list[str]:
        """The words of an already normalised text, as the classifier's tokenizer cuts them."""
        return list(self._get_tokenizer().cut(text, HMM=False))

    def _get_tokenizer(self) -> jieba.Tokenizer:
        tokenizer = self._tokenizer
        if tokenizer is not None:
            return tokenizer
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = _build_tokenizer(tuple(sorted(set(self._all_cues()))), self._settings.word_freq)
            return self._tokenizer

    def _get_model(self) -> NaiveBayes | None:
        """The second-opinion model, trained on first use (after the tokenizer it needs)."""
        if self._model is not None or self._second is None:
            return self._model
        tokenizer = self._get_tokenizer()
        with self._lock:
            if self._model is None:
                self._model = self._train(self._second, tokenizer)
            return self._model

    def _train(self, rules: _SecondOpinion, tokenizer: jieba.Tokenizer) -> NaiveBayes:
        def cut(text: str) -> set[str]:
            norm, _ = self.normalise(text)
            return features(norm, tokenizer.cut(norm, HMM=False))

        examples = [(kind, cut(text), 1.0) for kind, text in rules.examples]
        if rules.cue_weight > 0:
            examples += [(kind, cut(cue), rules.cue_weight)
                         for kind, section in self._sections.items() for cue in section.cues]
        return NaiveBayes.train(examples, alpha=rules.alpha, prior={Kind.NONE: rules.none_odds})

    def _all_cues(self) -> set[str]:
        words: set[str] = set()
        for section in self._sections.values():
            words.update(section.cues)
            words.update(section.negative)
        return words


# ---------------------------------------------------------------------- scoring
def _boundaries(text: str, words: Iterable[str]) -> tuple[frozenset[int], frozenset[int]]:
    starts: set[int] = set()
    ends: set[int] = set()
    pos = 0
    for token in words:
        starts.add(pos)
        pos += len(token)
        ends.add(pos)
    if pos != len(text):  # jieba dropped or changed something: fall back to plain substrings
        everywhere = frozenset(range(len(text) + 1))
        return everywhere, everywhere
    return frozenset(starts), frozenset(ends)


def _score(section: _Section, text: str, starts: frozenset[int], ends: frozenset[int]) -> _Score:
    found: list[tuple[float, str]] = []
    total = 0.0
    for cue, weight in section.cues.items():
        if _aligned(text, cue, starts, ends):
            total += weight
            found.append((weight, cue))
    for pattern in section.patterns:
        match = pattern.regex.search(text)
        if match:
            total += pattern.weight
            found.append((pattern.weight, match.group(0)))
    vetoed = False
    for cue, weight in section.negative.items():
        if _aligned(text, cue, starts, ends):
            total -= weight
            vetoed = True
    for pattern in section.negative_patterns:
        if pattern.regex.search(text):
            total -= pattern.weight
            vetoed = True
    found.sort(key=lambda item: -item[0])
    return _Score(max(0.0, total), tuple(dict.fromkeys(cue for _, cue in found)), vetoed)


def _aligned(text: str, cue: str, starts: frozenset[int], ends: frozenset[int]) -> bool:
    """True when `cue` occurs in `text` starting and ending on word boundaries.

    A cue that starts or ends with a letter or digit never matches inside a longer run of them, whatever
    jieba did: "12345" is not found in the account number 3101234567, "ok" not in "book".
    """
    at = text.find(cue)
    while at != -1:
        end = at + len(cue)
        if at in starts and end in ends and not (
            (at > 0 and _ASCII_WORD.match(cue[0]) and _ASCII_WORD.match(text[at - 1]))
            or (end < len(text) and _ASCII_WORD.match(cue[-1]) and _ASCII_WORD.match(text[end]))
        ):
            return True
        at = text.find(cue, at + 1)
    return False


def _appeal_confidence(score: float, threshold: float, second: float, chat: float) -> float:
    """0.5 at the threshold, rising towards 1 with the score; lowered by competing evidence."""
    strength = 1.0 - 0.5 * math.exp(-(score - threshold) / max(threshold, 1e-6))
    share = score / (score + second + chat)
    return _clamp(strength * (0.6 + 0.4 * share))


def _chat_confidence(chat: float, best: float, threshold: float) -> float:
    """How sure we are that the message is chat: more chat cues up, appeal evidence down."""
    base = 0.6 + 0.38 * (1.0 - math.exp(-chat / 2.0))
    doubt = min(1.0, best / max(threshold, 1e-6))
    return _clamp(base * (1.0 - 0.5 * doubt))


def _clamp(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return round(min(1.0, max(0.0, value)), 4)


# ---------------------------------------------------------------------- tokenizer
@functools.lru_cache(maxsize=4)
def _build_tokenizer(words: tuple[str, ...], freq: int) -> jieba.Tokenizer:
    """One tokenizer per word list and process: loading jieba's dictionary costs ~0.7 s, and a built
    tokenizer is only read from afterwards."""
    logging.getLogger("jieba").setLevel(logging.WARNING)
    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in words:
        if word.strip():
            tokenizer.add_word(word, freq=freq)
    return tokenizer


# ---------------------------------------------------------------------- lexicon parsing
def _parse_settings(raw: Any, source: str) -> _Settings:
    if not isinstance(raw, Mapping):
        raise LexiconError(f"{source}: [general] must be a table")
    try:
        priority = tuple(Kind(name) for name in raw.get("priority", [k.value for k in APPEAL_KINDS]))
    except ValueError as exc:
        raise LexiconError(f"{source}: [general].priority: {exc}") from exc
    pairs = raw.get("char_map", [])
    if not all(isinstance(p, str) and len(p) == 2 for p in pairs):
        raise LexiconError(f"{source}: [general].char_map entries must be two-character strings")
    domain = raw.get("domain", [])
    if not all(isinstance(d, str) and d for d in domain):
        raise LexiconError(f"{source}: [general].domain must be a list of non-empty strings")
    not_domain = raw.get("not_domain", [])
    if not isinstance(not_domain, list) or not all(isinstance(d, str) and d for d in not_domain):
        raise LexiconError(f"{source}: [general].not_domain must be a list of non-empty strings")
    return _Settings(
        max_chars=_positive_int(raw, "max_chars", 600, source),
        word_freq=_positive_int(raw, "word_freq", 200000, source),
        chat_margin=_number(raw.get("chat_margin", 1.0), f"{source}: [general].chat_margin"),
        off_domain_factor=_number(raw.get("off_domain_factor", 0.6),
                                  f"{source}: [general].off_domain_factor"),
        sticker_chat=_number(raw.get("sticker_chat", 1.0), f"{source}: [general].sticker_chat"),
        emoji_chat=_number(raw.get("emoji_chat", 0.7), f"{source}: [general].emoji_chat"),
        max_symbol_chat=_number(raw.get("max_symbol_chat", 3.0), f"{source}: [general].max_symbol_chat"),
        priority=priority,
        domain=tuple(unicodedata.normalize("NFKC", d).lower() for d in domain),
        not_domain=tuple(sorted({unicodedata.normalize("NFKC", d).lower() for d in not_domain}, key=lambda d: -len(d))),
        char_map={ord(p[0]): p[1] for p in pairs},
    )


def _parse_groups(raw: Any, source: str) -> dict[str, str]:
    """Named word lists, each turned into a regex alternation `(?:longest|...|short)`."""
    if not isinstance(raw, Mapping):
        raise LexiconError(f"{source}: [groups] must be a table of name = [words]")
    groups: dict[str, str] = {}
    for name, words in raw.items():
        if not _GROUP_NAME.fullmatch(name):
            raise LexiconError(f"{source}: [groups].{name}: names are lower-case letters and _")
        if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
            raise LexiconError(f"{source}: [groups].{name} must be a non-empty list of strings")
        norm = sorted({unicodedata.normalize("NFKC", w).lower() for w in words}, key=lambda w: (-len(w), w))
        groups[name] = "(?:" + "|".join(re.escape(w) for w in norm) + ")"
    return groups


def _expand(regex: str, groups: Mapping[str, str], where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in groups:
            raise LexiconError(f"{where}: unknown group {{{name}}} in {regex!r}")
        return groups[name]

    return _GROUP_REF.sub(replace, regex)


def _parse_sections(data: Mapping[str, Any], groups: Mapping[str, str], source: str) -> dict[Kind, _Section]:
    known = {k.value for k in Kind} | {"general", "groups", "second_opinion"}
    unknown = sorted(set(data) - known)
    if unknown:
        kinds = sorted(k.value for k in Kind)
        raise LexiconError(f"{source}: unknown section(s) {unknown}; kinds are {kinds}")
    sections: dict[Kind, _Section] = {}
    for kind in Kind:
        raw = data.get(kind.value, {})
        where = f"{source}: [{kind.value}]"
        if not isinstance(raw, Mapping):
            raise LexiconError(f"{where} must be a table")
        if kind is not Kind.NONE and kind.value not in data:
            log.warning("%s missing: the kind can never be chosen", where)
        sections[kind] = _Section(
            threshold=_number(raw.get("threshold", 2.0), f"{where}.threshold"),
            needs_domain=bool(raw.get("needs_domain", False)),
            cues=_weights(raw.get("cues", {}), f"{where}.cues"),
            negative=_weights(raw.get("negative", {}), f"{where}.negative"),
            patterns=_patterns(raw.get("patterns", []), groups, f"{where}.patterns"),
            negative_patterns=_patterns(raw.get("negative_patterns", []), groups,
                                        f"{where}.negative_patterns"),
        )
    return sections


def _parse_second_opinion(raw: Any, source: str, base_dir: Path | None) -> _SecondOpinion | None:
    """The [second_opinion] table; None when it is absent or `enabled = false`."""
    if raw is None:
        return None
    where = f"{source}: [second_opinion]"
    if not isinstance(raw, Mapping):
        raise LexiconError(f"{where} must be a table")
    if not raw.get("enabled", True):
        return None
    examples: list[tuple[Kind, str]] = []
    name = raw.get("examples")
    if name is not None:
        if not isinstance(name, str) or not name:
            raise LexiconError(f"{where}.examples must be a file name")
        path = _find_examples(Path(name), base_dir)
        if path is None:
            log.warning("%s.examples: %s not found; the second opinion learns from the cues only", where, name)
        else:
            try:
                examples = read_examples(path)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise LexiconError(f"{where}.examples: {exc}") from exc

    def number(key: str, default: float) -> float:
        return _number(raw.get(key, default), f"{where}.{key}")

    min_chars = raw.get("min_chars", 3)
    if isinstance(min_chars, bool) or not isinstance(min_chars, int) or min_chars < 0:
        raise LexiconError(f"{where}.min_chars: expected a non-negative integer, got {min_chars!r}")
    return _SecondOpinion(
        examples=tuple(examples),
        alpha=max(1e-6, number("alpha", 0.5)),
        none_odds=max(1e-6, number("none_odds", 16.0)),
        cue_weight=number("cue_weight", 1.0),
        min_probability=number("min_probability", 0.97),
        agree_probability=number("agree_probability", 0.5),
        agree_fraction=number("agree_fraction", 0.3),
        max_chat=number("max_chat", 1.0),
        min_chars=min_chars,
        confidence=min(1.0, number("confidence", 0.75)),
    )


def _find_examples(name: Path, base_dir: Path | None) -> Path | None:
    """An absolute path as is; a relative one next to the lexicon, else among the shipped config files."""
    if name.is_absolute():
        return name if name.is_file() else None
    candidates = [base_dir / name] if base_dir is not None else []
    candidates.append(Path(str(importlib.resources.files("config").joinpath(str(name)))))
    return next((c for c in candidates if c.is_file()), None)


def _weights(raw: Any, where: str) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise LexiconError(f"{where} must be a table of \"cue\" = weight")
    out: dict[str, float] = {}
    for cue, weight in raw.items():
        key = unicodedata.normalize("NFKC", str(cue)).lower().strip()
        if not key:
            raise LexiconError(f"{where}: empty cue")
        out[key] = _number(weight, f"{where}.{cue}")
    return out


def _patterns(raw: Any, groups: Mapping[str, str], where: str) -> tuple[_Pattern, ...]:
    if not isinstance(raw, list):
        raise LexiconError(f"{where} must be an array of tables ([[...]]) with regex and weight")
    out: list[_Pattern] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or "regex" not in item:
            raise LexiconError(f"{where}[{i}] needs a regex")
        try:
            regex = re.compile(_expand(str(item["regex"]), groups, f"{where}[{i}]"))
        except re.error as exc:
            raise LexiconError(f"{where}[{i}]: bad regex {item['regex']!r}: {exc}") from exc
        out.append(_Pattern(regex, _number(item.get("weight", 1.0), f"{where}[{i}].weight")))
    return tuple(out)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise LexiconError(f"{where}: expected a non-negative number, got {value!r}")
    return float(value)


def _positive_int(raw: Mapping[str, Any], key: str, default: int, source: str) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise LexiconError(f"{source}: [general].{key}: expected a positive integer, got {value!r}")
    return value


@functools.cache
def _default_classifier() -> Classifier:
    resource = importlib.resources.files("config").joinpath("appeal_lexicon.toml")
    with importlib.resources.as_file(resource) as path:
        return Classifier.from_file(path)
