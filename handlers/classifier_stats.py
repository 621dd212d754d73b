"""The classifier's second opinion: a small multinomial Naive Bayes over words and character bigrams.

The lexicon (handlers/classifier.py) is precise but only knows the wording it lists.  This model is trained,
when the classifier first runs, on labelled example messages (config/appeal_examples.tsv) and on the
lexicon's own cue phrases (each cue a tiny example of its kind), so a station's edited lexicon retrains it.
The classifier asks it only when the lexicon found no appeal, and takes its answer only when it is confident
and the message is about the station's business (see [second_opinion] in the lexicon).

Features of a normalised message, each counted once: the words of the classifier's tokenizer, the character
bigrams of every run of letters, digits and CJK characters (a lone character counts as itself), digits
folded to 0, plus "?" when the message asks something.  Unknown features are ignored.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from handlers.types import Kind

__all__ = ["NaiveBayes", "features", "read_examples"]

_RUN = re.compile(r"[0-9a-z\u3400-\u9fff]+")
_DIGITS = re.compile(r"[0-9]+")
_QUESTION = ("?", "吗", "么", "呢")


def features(text: str, words: Iterable[str]) -> set[str]:
    """The feature set of an already normalised `text` cut into `words`."""
    found: set[str] = set()
    for word in words:
        word = word.strip()
        if word and _RUN.search(word):
            found.add("w:" + _DIGITS.sub("0", word))
    for run in _RUN.findall(_DIGITS.sub("0", text)):
        if len(run) == 1:
            found.add("c:" + run)
        found.update(run[i:i + 2] for i in range(len(run) - 1))
    if any(mark in text for mark in _QUESTION):
        found.add("p:?")
    return found


@dataclass(frozen=True, slots=True)
class NaiveBayes:
    """Log-likelihoods per feature, one value per kind of `kinds`, and a log-prior per kind."""

    kinds: tuple[Kind, ...]
    log_prior: tuple[float, ...]
    log_likelihood: Mapping[str, tuple[float, ...]]

    @classmethod
    def train(cls, examples: Iterable[tuple[Kind, set[str], float]], *, alpha: float = 0.5,
              prior: Mapping[Kind, float] | None = None) -> NaiveBayes:
        """`examples` are (kind, features, weight); `prior` gives relative class odds (default: equal)."""
        kinds = tuple(Kind)
        counts: dict[Kind, dict[str, float]] = {kind: {} for kind in kinds}
        totals = dict.fromkeys(kinds, 0.0)
        for kind, found, weight in examples:
            bucket = counts[kind]
            for feature in found:
                bucket[feature] = bucket.get(feature, 0.0) + weight
            totals[kind] += weight * len(found)
        vocabulary = set().union(*counts.values())
        size = max(1, len(vocabulary))
        log_likelihood = {
            feature: tuple(math.log((counts[k].get(feature, 0.0) + alpha) / (totals[k] + alpha * size)) for k in kinds)
            for feature in vocabulary
        }
        odds = [max(1e-9, (prior or {}).get(k, 1.0)) for k in kinds]
        norm = sum(odds)
        return cls(kinds, tuple(math.log(o / norm) for o in odds), log_likelihood)

    def posterior(self, found: Iterable[str]) -> dict[Kind, float] | None:
        """P(kind | features), or None when no feature is known to the model."""
        scores = list(self.log_prior)
        known = 0
        for feature in found:
            values = self.log_likelihood.get(feature)
            if values is None:
                continue
            known += 1
            for i, value in enumerate(values):
                scores[i] += value
        if not known:
            return None
        top = max(scores)
        weights = [math.exp(s - top) for s in scores]
        total = sum(weights)
        return {kind: w / total for kind, w in zip(self.kinds, weights, strict=True)}


def read_examples(path: Path) -> list[tuple[Kind, str]]:
    """`kind<TAB>text` lines; blank and # lines skipped.  A bad line raises ValueError naming it."""
    rows: list[tuple[Kind, str]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        try:
            kind = Kind(label.strip())
        except ValueError:
            kind = None
        if not sep or kind is None:
            raise ValueError(f"{path}:{number}: expected kind<TAB>text with a known kind")
        rows.append((kind, text))
    return rows


def top_features(model: NaiveBayes, found: Sequence[str], kind: Kind, n: int = 3) -> tuple[str, ...]:
    """The `n` features that most favour `kind` over the others: the second opinion's explanation."""
    index = model.kinds.index(kind)
    scored = []
    for feature in found:
        values = model.log_likelihood.get(feature)
        if values is not None:
            others = max(v for i, v in enumerate(values) if i != index)
            scored.append((values[index] - others, feature))
    scored.sort(reverse=True)
    return tuple(f.split(":", 1)[-1] for gain, f in scored[:n] if gain > 0)
