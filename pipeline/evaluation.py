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

from .models import CATEGORIES, ActionFact, Critique, Draft, Facts, Finding, MeasureFact, Notice

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
    return score_critiques((item, critic(item.text)) for item in letters)


def score_critiques(results: Iterable[tuple[LabeledLetter, Critique]]) -> CriticReport:
    """Score critiques already made (one per labeled letter) against the labels by span overlap."""
    report = CriticReport(per_category={c: CategoryScore() for c in CATEGORIES})
    for item, result in results:
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


# --- the whole evaluation: notices, critic, drafts; run files and a regression gate ---------------------

import json as _json  # noqa: E402
import time as _time  # noqa: E402
import tomllib as _tomllib  # noqa: E402
from datetime import datetime as _datetime, timezone as _timezone  # noqa: E402

EVALS = Path(__file__).resolve().parent.parent / "evals"
# How far a metric may drop below the baseline before the gate fails (absolute, on a 0-1 scale).
TOLERANCE = 0.005


def _notice_cases(files: list[Path]) -> list[dict]:
    cases = []
    for path in files:
        for item in _tomllib.loads(path.read_text(encoding="utf-8"))["notices"]:
            cases.append({**item, "set": path.stem})
    return cases


def score_notices(cases: list[dict], reader: Callable[[str], object]) -> dict:
    """Violation accuracy with a confusion matrix; identifier sets and metric values exact per case."""
    return score_readings((case, reader(case["text"])) for case in cases)


def score_readings(results: Iterable[tuple[dict, Notice]]) -> dict:
    """`score_notices` for readings already made, one per labeled notice."""
    rows, confusion = [], {}
    for case, got in results:
        want = case["expected"]
        metrics_ok = {(m.name, m.value) for m in got.metrics} == {(m["name"], m["value"]) for m in want["metrics"]}
        row = {"id": case["id"], "set": case["set"], "expected": want["violation"], "got": got.violation,
               "confidence": got.confidence, "violation_ok": got.violation == want["violation"],
               "asins_ok": set(got.asins) == set(want["asins"]), "orders_ok": set(got.order_ids) == set(want["order_ids"]),
               "metrics_ok": metrics_ok}
        rows.append(row)
        confusion.setdefault(want["violation"], {}).setdefault(got.violation, 0)
        confusion[want["violation"]][got.violation] += 1
    n = len(rows) or 1
    return {
        "metrics": {f"notice.{k}": round(sum(r[f"{k}_ok"] for r in rows) / n, 4)
                    for k in ("violation", "asins", "orders", "metrics")},
        "confusion": confusion,
        "cases": rows,
    }


def score_drafts(cases: list[dict], reader, drafter) -> dict:
    """A draft from each notice alone: three sections, every ASIN named, no serious line finding."""
    return score_draft_results((case, drafter(reader(case["text"]))) for case in cases)


def score_draft_results(results: Iterable[tuple[dict, Draft]]) -> dict:
    """`score_drafts` for drafts already made, each with the notice reading it was drafted from."""
    rows = []
    for case, result in results:
        notice = result.notice
        serious = [f.rule for f in result.critique.findings if f.severity == "high" and f.category in LINE_CATEGORIES]
        rows.append({"id": case["id"], "sections_ok": all(result.critique.sections.model_dump().values()),
                     "asins_ok": all(a in result.text for a in notice.asins), "clean_ok": not serious,
                     "serious": serious, "words": result.stats.words})
    n = len(rows) or 1
    return {"metrics": {f"draft.{k}": round(sum(r[f"{k}_ok"] for r in rows) / n, 4) for k in ("sections", "asins", "clean")},
            "cases": rows}


# Who signs and for which store: no labeled case gives them, so their slots stay open in every draft.
SIGNATURE_SLOTS = ("[name and role of the person signing]", "[store name]")


def case_facts(case: dict) -> Facts | None:
    """The seller's facts a labeled notice carries, as the drafter takes them: what happened from the
    root cause, each action and each preventive step as one item, written as given (a date or a proof
    inside the sentence stays in the sentence: the cases do not give them apart). None without facts."""
    given = case.get("facts")
    if not given:
        return None
    return Facts(what_happened=given.get("root_cause"),
                 actions=[ActionFact(what=a) for a in given.get("actions", [])],
                 measures=[MeasureFact(what=m) for m in given.get("prevention", [])])


def score_full_facts(results: Iterable[tuple[dict, Draft]]) -> dict:
    """A draft from each notice with every fact its case carries, judged by the draft's own critique:
    the verdict (`ready`), the three sections, every ASIN and order ID of the reading named, no length
    finding, no serious line finding, and no slot left open but the signer's and the store's. Each row
    keeps the score, the slots still open, the serious rules and the length, so a verdict can be traced."""
    from .drafter import SLOT_LABEL

    rows = []
    for case, result in results:
        c, notice = result.critique, result.notice
        serious = [f.rule for f in c.findings if f.severity == "high" and f.category in LINE_CATEGORIES]
        open_slots = sorted(set(SLOT_LABEL.findall(result.text)) - set(SIGNATURE_SLOTS))
        rows.append({
            "id": case["id"], "verdict": c.verdict, "score": c.score, "ready_ok": c.verdict == "ready",
            "sections_ok": all(c.sections.model_dump().values()),
            "identifiers_ok": all(x in result.text for x in notice.asins + notice.order_ids),
            "length_ok": not any(f.category == "length" for f in c.findings), "clean_ok": not serious,
            "filled_ok": not open_slots, "serious": serious, "open_slots": open_slots,
            "placeholders": sum(f.category == "placeholder" for f in c.findings),
            "words": result.stats.words, "characters": result.stats.characters,
        })
    n = len(rows) or 1
    metrics = {f"draft.full_facts_{k}": round(sum(r[f"{k}_ok"] for r in rows) / n, 4)
               for k in ("ready", "sections", "identifiers", "length", "clean", "filled")}
    metrics["draft.full_facts_score"] = round(sum(r["score"] for r in rows) / n / 100, 4)
    return {"metrics": metrics, "cases": rows}


def critic_metrics(report: CriticReport) -> dict:
    out = {"critic.recall": round(report.recall, 4), "critic.precision": round(report.precision, 4),
           "critic.good_kept": round(1 - report.good_flag_rate, 4), "critic.ordering": round(report.ordering, 4)}
    for name, c in report.per_category.items():
        if c.labels:
            out[f"critic.recall.{name}"] = round(c.recall, 4)
        if c.findings:
            out[f"critic.precision.{name}"] = round(c.precision, 4)
    return out


def run_eval(pattern: str = "*", progress: Callable[[str, int, int], None] | None = None,
             full_facts: bool = False) -> dict:
    """The offline evaluation over evals/critic/<pattern>.toml and evals/notices/<pattern>.toml.
    With `full_facts`, also a draft from every notice with its case's facts (`score_full_facts`);
    it is off by default because it adds a critique per case to the gate's run."""
    from . import critique, draft, parse_notice
    from .rules import rules_version

    started = _time.monotonic()
    report = {"at": _datetime.now(_timezone.utc).isoformat(timespec="seconds"), "backend": "offline",
              "rules_version": rules_version(), "metrics": {}}
    letter_files = sorted((EVALS / "critic").glob(f"{pattern}.toml"))
    letters = [item for path in letter_files for item in load_letters(path)]
    done = []

    def critic_with_progress(text: str):
        done.append(1)
        if progress:
            progress("critic", len(done), len(letters))
        return critique(text)

    critic_report = score_critic(letters, critic_with_progress)
    report["metrics"].update(critic_metrics(critic_report))
    report["critic"] = {
        "sets": [p.stem for p in letter_files],
        "missed": [{"letter": lid, "category": lab.category, "quote": lab.quote} for lid, lab in critic_report.missed],
        "false_findings": [{"letter": lid, "rule": f.rule, "quote": f.quote} for lid, f in critic_report.false_findings],
    }
    notice_files = sorted((EVALS / "notices").glob(f"{pattern}.toml"))
    cases = _notice_cases(notice_files)
    if progress:
        progress("notices", 0, len(cases))
    notices = score_notices(cases, parse_notice)
    drafts = score_drafts(cases, parse_notice, draft)
    report["metrics"].update(notices["metrics"])
    report["metrics"].update(drafts["metrics"])
    report["notices"] = {"sets": [p.stem for p in notice_files], "confusion": notices["confusion"],
                         "cases": notices["cases"]}
    report["drafts"] = {"cases": drafts["cases"]}
    if full_facts:
        given = [(case, case_facts(case)) for case in cases if case.get("facts")]
        scored = score_full_facts((case, draft(parse_notice(case["text"]), facts)) for case, facts in given)
        report["metrics"].update(scored["metrics"])
        report["drafts"]["full_facts"] = scored["cases"]
    report["seconds"] = round(_time.monotonic() - started, 2)
    return report


def compare(run: dict, baseline: dict, tolerance: float = TOLERANCE) -> list[dict]:
    """Each metric of the baseline against this run: better, worse (beyond the tolerance) or same."""
    rows = []
    for name, old in sorted(baseline.get("metrics", {}).items()):
        new = run["metrics"].get(name)
        if new is None:
            rows.append({"metric": name, "old": old, "new": None, "change": "missing"})
            continue
        delta = round(new - old, 4)
        change = "worse" if delta < -tolerance else "better" if delta > tolerance else "same"
        rows.append({"metric": name, "old": old, "new": new, "delta": delta, "change": change})
    return rows


def summary_markdown(run: dict, comparison: list[dict] | None = None) -> str:
    lines = [f"# Evaluation {run['at']}", "", f"Backend: {run['backend']} · rules {run['rules_version']} · "
             f"{run['seconds']} s", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in sorted(run["metrics"].items())]
    if comparison:
        moved = [r for r in comparison if r["change"] in ("worse", "better", "missing")]
        lines += ["", "## Against the baseline", ""]
        lines += [f"- {r['change']}: {r['metric']} {r['old']} -> {r['new']}" for r in moved] or ["- no change"]
    return "\n".join(lines) + "\n"


def write_run(run: dict, folder: Path | None = None) -> tuple[Path, Path]:
    folder = folder or EVALS / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    stem = run["at"].replace(":", "").replace("+0000", "Z")
    json_path, md_path = folder / f"{stem}.json", folder / f"{stem}.md"
    json_path.write_text(_json.dumps(run, ensure_ascii=False, indent=2), encoding="utf-8")
    md_path.write_text(summary_markdown(run, run.get("comparison")), encoding="utf-8")
    return json_path, md_path
