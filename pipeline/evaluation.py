"""Labeled letters and the scorers that measure the critic against them.

A labeled letter (evals/critic/*.toml) marks each weak line with its category and exact quote, and
lists good lines: specific, owned, evidenced sentences the critic must leave alone. Every scorer
returns numbers and the evidence behind them (which label was missed, which line was wrongly
flagged), so a change in a figure can be traced to the lines that moved it.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .models import CATEGORIES, Critique, Finding

# The categories the "good lines" promise is about: a specific, owned, evidenced line must not be
# called vague, unverified, blame or emotion.
LINE_CATEGORIES = ("vague", "missing_evidence", "blame_shifting", "emotional_appeal")


@dataclass(frozen=True)
class Label:
    category: str
    start: int
    end: int
    quote: str
    section: str | None = None

    @property
    def whole_letter(self) -> bool:
        return self.start == self.end == 0 and not self.quote


@dataclass(frozen=True)
class LabeledLetter:
    id: str
    text: str
    kind: str
    violation: str
    style: str
    labels: tuple[Label, ...]
    good: tuple[Label, ...]


@dataclass
class CategoryScore:
    labels: int = 0
    found: int = 0
    findings: int = 0
    correct: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.labels if self.labels else 1.0

    @property
    def precision(self) -> float:
        return self.correct / self.findings if self.findings else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class CriticReport:
    per_category: dict[str, CategoryScore] = field(default_factory=dict)
    missed: list[tuple[str, Label]] = field(default_factory=list)
    false_findings: list[tuple[str, Finding]] = field(default_factory=list)
    good_lines: int = 0
    good_flagged: list[tuple[str, Label, Finding]] = field(default_factory=list)
    weak_scores: list[int] = field(default_factory=list)
    strong_scores: list[int] = field(default_factory=list)

    @property
    def recall(self) -> float:
        total = sum(c.labels for c in self.per_category.values())
        return sum(c.found for c in self.per_category.values()) / total if total else 1.0

    @property
    def precision(self) -> float:
        total = sum(c.findings for c in self.per_category.values())
        return sum(c.correct for c in self.per_category.values()) / total if total else 1.0

    @property
    def good_flag_rate(self) -> float:
        return len(self.good_flagged) / self.good_lines if self.good_lines else 0.0

    @property
    def ordering(self) -> float:
        """Share of (weak, strong) letter pairs where the weak letter scores lower."""
        pairs = [(w, s) for w in self.weak_scores for s in self.strong_scores]
        return sum(1 for w, s in pairs if w < s) / len(pairs) if pairs else 1.0


def _locate(text: str, quote: str, occurrence: int, where: str) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence):
        start = text.find(quote, start + 1)
        if start < 0:
            raise ValueError(f"{where}: quote {quote!r} (occurrence {occurrence}) is not in the text")
    return start, start + len(quote)


def load_letters(path: str | Path) -> list[LabeledLetter]:
    """Read a labeled set; raises ValueError naming the letter when a quote is not in its text."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    letters = []
    for item in data["letters"]:
        text = item["text"]

        def labels(key: str) -> tuple[Label, ...]:
            out = []
            for spec in item.get(key, []):
                category = spec.get("category", "good")
                if key == "labels" and category not in CATEGORIES:
                    raise ValueError(f"{item['id']}: unknown category {category!r}")
                quote = spec.get("quote", "")
                if quote:
                    start, end = _locate(text, quote, int(spec.get("occurrence", 1)), item["id"])
                else:
                    start = end = 0
                out.append(Label(category, start, end, quote, spec.get("section")))
            return tuple(out)

        letters.append(
            LabeledLetter(
                id=item["id"],
                text=text,
                kind=item.get("kind", "weak"),
                violation=item.get("violation", "other"),
                style=item.get("style", ""),
                labels=labels("labels"),
                good=labels("good"),
            )
        )
    return letters


def _overlaps(a_start: int, a_end: int, b_start: int, b_end: int) -> bool:
    """Spans share a character; a zero-width span overlaps a span it stands inside or at the edge of."""
    if a_start == a_end:
        return b_start <= a_start <= b_end
    if b_start == b_end:
        return a_start <= b_start <= a_end
    return a_start < b_end and b_start < a_end


def _matches(label: Label, finding: Finding) -> bool:
    if finding.category != label.category:
        return False
    if label.whole_letter:
        return label.section is None or finding.rule.endswith(label.section)
    if finding.start == finding.end == 0 and label.category in ("missing_section", "length", "language"):
        return label.category != "missing_section" or label.section is None or finding.rule.endswith(label.section)
    return _overlaps(label.start, label.end, finding.start, finding.end)


def score_critic(letters: Iterable[LabeledLetter], critic: Callable[[str], Critique]) -> CriticReport:
    """Run `critic` on every letter and score its findings against the labels by span overlap."""
    report = CriticReport(per_category={c: CategoryScore() for c in CATEGORIES})
    for item in letters:
        result = critic(item.text)
        for label in item.labels:
            score = report.per_category[label.category]
            score.labels += 1
            if any(_matches(label, f) for f in result.findings):
                score.found += 1
            else:
                report.missed.append((item.id, label))
        for finding in result.findings:
            score = report.per_category[finding.category]
            score.findings += 1
            if any(_matches(label, finding) for label in item.labels):
                score.correct += 1
            else:
                report.false_findings.append((item.id, finding))
        for good in item.good:
            report.good_lines += 1
            for finding in result.findings:
                if finding.category in LINE_CATEGORIES and _overlaps(good.start, good.end, finding.start, finding.end):
                    report.good_flagged.append((item.id, good, finding))
                    break
        (report.strong_scores if item.kind == "strong" else report.weak_scores).append(result.score)
    return report


def format_report(report: CriticReport) -> str:
    """A readable table of the critic's scores, with every miss and false flag listed."""
    lines = [f"{'category':<18}{'labels':>7}{'found':>7}{'recall':>8}{'flags':>7}{'prec':>7}{'f1':>7}"]
    for name, c in report.per_category.items():
        if c.labels or c.findings:
            lines.append(
                f"{name:<18}{c.labels:>7}{c.found:>7}{c.recall:>8.2f}{c.findings:>7}{c.precision:>7.2f}{c.f1:>7.2f}"
            )
    lines.append(
        f"overall recall {report.recall:.3f}  precision {report.precision:.3f}  "
        f"good lines flagged {len(report.good_flagged)}/{report.good_lines} ({report.good_flag_rate:.1%})  "
        f"weak<strong ordering {report.ordering:.3f}"
    )
    return "\n".join(lines)
