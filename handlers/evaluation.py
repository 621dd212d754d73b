"""Measuring a classifier on labelled messages: per-kind precision/recall/F1, accuracy, confusion matrix."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from handlers.classifier import Classification
from handlers.types import Kind

__all__ = ["KindStats", "LabelledRow", "Report", "evaluate", "format_report", "load_labelled", "load_rows"]

ALL_KINDS: tuple[Kind, ...] = tuple(Kind)


class SupportsClassify(Protocol):
    def classify(self, text: str) -> Classification: ...


@dataclass(frozen=True, slots=True)
class LabelledRow:
    kind: Kind
    text: str


@dataclass(frozen=True, slots=True)
class KindStats:
    kind: Kind
    support: int  # gold rows of this kind
    predicted: int  # rows predicted as this kind
    true_positives: int

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class Miss:
    gold: Kind
    predicted: Kind
    confidence: float
    text: str


@dataclass(frozen=True, slots=True)
class Report:
    total: int
    correct: int
    per_kind: dict[Kind, KindStats]
    confusion: dict[Kind, dict[Kind, int]]  # confusion[gold][predicted]
    misses: tuple[Miss, ...]

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def macro_f1(self) -> float:
        """Mean F1 over the kinds present in the gold labels."""
        present = [s.f1 for s in self.per_kind.values() if s.support]
        return sum(present) / len(present) if present else 0.0

    @property
    def appeal_precision(self) -> float:
        """Of the messages flagged as any appeal, the share that really are appeals (kind aside)."""
        flagged = sum(n for row in self.confusion.values()
                      for pred, n in row.items() if pred is not Kind.NONE)
        right = sum(n for gold, row in self.confusion.items() if gold is not Kind.NONE
                    for pred, n in row.items() if pred is not Kind.NONE)
        return right / flagged if flagged else 0.0

    @property
    def appeal_recall(self) -> float:
        """Of the real appeals, the share flagged as some appeal (kind aside)."""
        gold = sum(n for g, row in self.confusion.items() if g is not Kind.NONE for n in row.values())
        right = sum(n for g, row in self.confusion.items() if g is not Kind.NONE
                    for pred, n in row.items() if pred is not Kind.NONE)
        return right / gold if gold else 0.0


def load_rows(path: str | Path) -> list[LabelledRow]:
    """Read `kind<TAB>text` lines; blank lines and lines starting with # are skipped."""
    rows: list[LabelledRow] = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        if not sep:
            raise ValueError(f"{path}:{number}: expected kind<TAB>text")
        try:
            kind = Kind(label.strip())
        except ValueError as exc:
            raise ValueError(f"{path}:{number}: unknown kind {label!r}") from exc
        rows.append(LabelledRow(kind, text))
    return rows


load_labelled = load_rows  # the name bot/cli.py uses


def evaluate(classifier: SupportsClassify, rows: Iterable[LabelledRow | tuple[Kind | str, str]]) -> Report:
    confusion: dict[Kind, dict[Kind, int]] = {g: dict.fromkeys(ALL_KINDS, 0) for g in ALL_KINDS}
    misses: list[Miss] = []
    total = correct = 0
    for row in rows:
        gold, text = (row.kind, row.text) if isinstance(row, LabelledRow) else (Kind(row[0]), row[1])
        verdict = classifier.classify(text)
        confusion[gold][verdict.kind] += 1
        total += 1
        if verdict.kind is gold:
            correct += 1
        else:
            misses.append(Miss(gold, verdict.kind, verdict.confidence, text))
    per_kind = {
        kind: KindStats(
            kind=kind,
            support=sum(confusion[kind].values()),
            predicted=sum(confusion[g][kind] for g in ALL_KINDS),
            true_positives=confusion[kind][kind],
        )
        for kind in ALL_KINDS
    }
    return Report(total, correct, per_kind, confusion, tuple(misses))


def format_report(report: Report, *, confusion: bool = True, misses: int = 0) -> str:
    """A plain-text table; `misses` > 0 appends up to that many misclassified messages."""
    lines = [f"{'kind':<16}{'precision':>10}{'recall':>8}{'f1':>7}{'support':>9}{'predicted':>11}"]
    for stats in report.per_kind.values():
        lines.append(f"{stats.kind.value:<16}{stats.precision:>10.3f}{stats.recall:>8.3f}{stats.f1:>7.3f}"
                     f"{stats.support:>9}{stats.predicted:>11}")
    lines.append("")
    lines.append(f"accuracy {report.accuracy:.3f} ({report.correct}/{report.total})"
                 f"   macro F1 {report.macro_f1:.3f}")
    lines.append(f"appeal vs none: precision {report.appeal_precision:.3f}"
                 f"  recall {report.appeal_recall:.3f}")
    if confusion:
        lines.append("")
        lines.extend(_confusion_lines(report))
    if misses:
        lines.append("")
        lines.append("misclassified (gold → predicted, confidence):")
        for miss in report.misses[:misses]:
            lines.append(f"  {miss.gold.value:>15} → {miss.predicted.value:<15} {miss.confidence:.2f}"
                         f"  {miss.text}")
    return "\n".join(lines)


_SHORT: dict[Kind, str] = {
    Kind.REPAIR: "rep", Kind.COMPLAINT: "cmp", Kind.REPORT: "rpt", Kind.OPINION: "opn",
    Kind.SUGGESTION: "sug", Kind.PRAISE: "prs", Kind.INQUIRY: "inq", Kind.SERVICE_REQUEST: "svc",
    Kind.NONE: "none",
}


def _confusion_lines(report: Report) -> Sequence[str]:
    header = "gold \\ predicted".ljust(18) + "".join(f"{_SHORT[k]:>6}" for k in ALL_KINDS)
    rows = [header]
    for gold in ALL_KINDS:
        rows.append(f"{gold.value:<18}" + "".join(f"{report.confusion[gold][p]:>6}" for p in ALL_KINDS))
    return rows
