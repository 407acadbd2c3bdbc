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
    """`score_notices` for readings already made, one per labeled notice. Per case: the violation and
    whether each set (ASINs, order IDs, metric name and value) is exact; over all cases: precision and
    recall of each set's items (read and right / read, read and right / expected)."""
    rows, confusion = [], {}
    tally = {kind: [0, 0, 0] for kind in ("asins", "orders", "metrics")}  # right, read, expected
    for case, got in results:
        want = case["expected"]
        sets = {
            "asins": (set(got.asins), set(want["asins"])),
            "orders": (set(got.order_ids), set(want["order_ids"])),
            "metrics": ({(m.name, m.value) for m in got.metrics}, {(m["name"], m["value"]) for m in want["metrics"]}),
        }
        row = {"id": case["id"], "set": case["set"], "expected": want["violation"], "got": got.violation,
               "confidence": got.confidence, "violation_ok": got.violation == want["violation"]}
        for kind, (read, expected) in sets.items():
            row[f"{kind}_ok"] = read == expected
            counts = tally[kind]
            counts[0] += len(read & expected)
            counts[1] += len(read)
            counts[2] += len(expected)
        rows.append(row)
        confusion.setdefault(want["violation"], {}).setdefault(got.violation, 0)
        confusion[want["violation"]][got.violation] += 1
    n = len(rows) or 1
    metrics = {f"notice.{k}": round(sum(r[f"{k}_ok"] for r in rows) / n, 4)
               for k in ("violation", "asins", "orders", "metrics")}
    for kind, (right, read, expected) in tally.items():
        metrics[f"notice.{kind}.precision"] = round(right / read, 4) if read else 1.0
        metrics[f"notice.{kind}.recall"] = round(right / expected, 4) if expected else 1.0
    return {"metrics": metrics, "confusion": confusion, "cases": rows}


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
    root cause; each action and each preventive step either a plain string, written as given (a date or
    a proof inside the sentence stays in the sentence), or a table with its parts apart (an action's
    `what`, `date`, `evidence`; a step's `what`, `owner`, `frequency`, `start`); the signer and the
    store when given. None without facts."""
    given = case.get("facts")
    if not given:
        return None

    def action(a) -> ActionFact:
        return ActionFact(what=a) if isinstance(a, str) else ActionFact(**a)

    def measure(m) -> MeasureFact:
        return MeasureFact(what=m) if isinstance(m, str) else MeasureFact(**m)

    return Facts(what_happened=given.get("root_cause"),
                 actions=[action(a) for a in given.get("actions", [])],
                 measures=[measure(m) for m in given.get("prevention", [])],
                 signer=given.get("signer"), store=given.get("store"))


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
             full_facts: bool = True, critic: Callable[[str], Critique] | None = None) -> dict:
    """The offline evaluation over evals/critic/<pattern>.toml and evals/notices/<pattern>.toml,
    including a draft from every notice with its case's facts (`score_full_facts`), so the gate
    guards the drafter with full facts too; `full_facts=False` leaves that out. `critic` stands in for
    `critique` on the letters (the tests pass one that reuses critiques already made)."""
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
        return (critic or critique)(text)

    critic_report = score_critic(letters, critic_with_progress)
    if letters:  # a selection without letters (or notices) has no figures for them, not zeros
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
    if cases:
        report["metrics"].update(notices["metrics"])
        report["metrics"].update(drafts["metrics"])
    report["notices"] = {"sets": [p.stem for p in notice_files], "confusion": notices["confusion"],
                         "cases": notices["cases"]}
    report["drafts"] = {"cases": drafts["cases"]}
    if full_facts:
        given = [(case, case_facts(case)) for case in cases if case.get("facts")]
        scored = score_full_facts((case, draft(parse_notice(case["text"]), facts)) for case, facts in given)
        if given:
            report["metrics"].update(scored["metrics"])
        report["drafts"]["full_facts"] = scored["cases"]
    report["seconds"] = round(_time.monotonic() - started, 2)
    return report


# --- the model path: the same scorers on the LLM backend's answers; concurrent, journaled, resumable ------

import queue as _queue  # noqa: E402
import signal as _signal  # noqa: E402
import threading as _threading  # noqa: E402
from contextlib import contextmanager as _contextmanager  # noqa: E402

from .journal import Journal, fingerprint  # noqa: E402

USAGE_KEYS = ("calls", "live", "cached", "tokens_in", "tokens_out", "latency_ms", "cost_usd")


class EvalInterrupted(Exception):
    """Ctrl-C stopped a model-path run; every case that finished is in the journal."""

    def __init__(self, run_id: str, journal: Path, done: int, total: int):
        super().__init__(f"interrupted after {done} of {total} cases")
        self.run_id, self.journal, self.done, self.total = run_id, journal, done, total


@dataclass(frozen=True)
class _Unit:
    """One model-path case of one stage: a letter critiqued, a notice read, a draft made."""

    key: str  # "<stage>:<case id>", unique in a run
    stage: str  # critic, notice, draft (from the notice alone) or facts (with the case's facts)
    case: str
    set: str
    source: str  # everything of the case the answer depends on
    job: Callable[[], object]


@_contextmanager
def _ctrl_c_sets(flag: _threading.Event):
    """In the main thread, the first Ctrl-C sets `flag` instead of raising KeyboardInterrupt wherever
    the thread happens to be: between taking a finished case off the queue and writing it to the
    journal, that would lose the case, and a resumed run would pay for it again. A second Ctrl-C
    raises as usual. In another thread (the app's) signals cannot be handled and nothing changes."""
    if _threading.current_thread() is not _threading.main_thread():
        yield
        return

    def first(signum, frame) -> None:
        flag.set()
        _signal.signal(_signal.SIGINT, _signal.default_int_handler)

    previous = _signal.signal(_signal.SIGINT, first)
    try:
        yield
    finally:
        _signal.signal(_signal.SIGINT, previous if previous is not None else _signal.default_int_handler)


def _units(backend, letters: list[tuple[str, LabeledLetter]], cases: list[dict]) -> list[_Unit]:
    # The drafter gets the offline reading of the notice, as `poa draft` gives it, so the draft
    # figures move with the drafter alone, not with the model's reading.
    from .notice import parse_notice

    units = [_Unit(f"critic:{item.id}", "critic", item.id, name, item.text,
                   lambda text=item.text: backend.critique(text)) for name, item in letters]
    for case in cases:
        text, cid, name = case["text"], case["id"], case["set"]
        units.append(_Unit(f"notice:{cid}", "notice", cid, name, text, lambda text=text: backend.parse_notice(text)))
        units.append(_Unit(f"draft:{cid}", "draft", cid, name, text, lambda text=text: backend.draft(parse_notice(text))))
        facts = case_facts(case)
        if facts is not None:
            units.append(_Unit(f"facts:{cid}", "facts", cid, name, text + "\n" + facts.model_dump_json(),
                               lambda text=text, facts=facts: backend.draft(parse_notice(text), facts)))
    return units


class _Tally:
    """The backend's call log, keeping as well the calls of the case that runs in this thread."""

    def __init__(self, log, skip: Callable[[], bool] | None = None):
        self._log, self._skip, self._local = log, skip, _threading.local()

    def start(self) -> None:
        self._local.calls = []

    def calls(self) -> list[dict]:
        return getattr(self._local, "calls", [])

    def record(self, **call) -> None:
        if self._skip is not None and self._skip() and str(call.get("outcome", "")).startswith("error"):
            return  # a request kept for the Batch API did not fail; it was not sent
        self._log.record(**call)
        self.calls().append(call)

    def __getattr__(self, name):
        return getattr(self._log, name)


def _usage(calls: list[dict]) -> dict:
    return {"calls": len(calls), "live": sum(1 for c in calls if not c.get("cached")),
            "cached": sum(1 for c in calls if c.get("cached")), "tokens_in": sum(c["tokens_in"] for c in calls),
            "tokens_out": sum(c["tokens_out"] for c in calls), "latency_ms": sum(c["latency_ms"] for c in calls),
            "cost_usd": round(sum(c["cost_usd"] for c in calls), 6)}


def _added(*usages: dict) -> dict:
    out = {k: sum(u.get(k, 0) for u in usages) for k in USAGE_KEYS}
    out["cost_usd"] = round(out["cost_usd"], 6)
    return out


def _innermost(exc: BaseException) -> str:
    """The message at the bottom of an exception chain (the server's words, the validation error)."""
    seen = [exc]
    while True:
        inner = seen[-1].__cause__ or getattr(seen[-1], "last_exception", None)
        if inner is None or inner in seen:
            break
        seen.append(inner)
    return f"{type(seen[-1]).__name__}: {seen[-1]}"[:500]


def _stem(at: str) -> str:
    """A run's file name from its start time: 2026-11-25T16:31:34+00:00 -> 2026-11-25T163134Z."""
    return at.replace(":", "").replace("+0000", "Z")


def _run_id(folder: Path, at: str) -> str:
    stem = _stem(at)
    run_id, n = stem, 1
    while (folder / f"{run_id}.json").exists() or (folder / f"{run_id}.jsonl").exists():
        n += 1
        run_id = f"{stem}-{n}"
    return run_id


def model_identity(backend) -> dict:
    """What a model-path answer depends on besides the case: a journal entry made under another
    identity is not reused."""
    from .prompts import load_prompt
    from .rules import rules_version

    s = backend.settings
    return {"backend": backend.name, "model": s.model, "mode": s.mode, "base_url": s.base_url, "redact": s.redact,
            "prompts": {p: load_prompt(p).version for p in ("critique", "notice", "draft")},
            "rules_version": rules_version()}


def run_model_eval(backend, pattern: str = "*", *, concurrency: int = 4,
                   progress: Callable[[str, int, int], None] | None = None,
                   notify: Callable[[str], None] | None = None, folder: Path | None = None,
                   journal: Journal | None = None, transport=None) -> tuple[dict, list[dict]]:
    """The evaluation on the LLM backend: every labeled letter critiqued, every notice read, a draft
    from each notice alone and one with its case's facts, scored by the offline path's scorers.

    At most `concurrency` cases run at once. Each finished case goes to the journal at once (a new
    one in `folder`, or `journal` to resume: its answered cases are not run again, its failed ones are,
    except in a Batch round). A case that fails
    (HTTP 429/500, timeout, invalid answer after re-asks) is an error row, counted, never a crash.
    Ctrl-C lets the cases in flight finish into the journal, then raises EvalInterrupted (a second
    Ctrl-C stops at once). With a Batch `transport` (pipeline.batch), answers come from Batch output
    and requests without one are returned as Batch input lines; the run is complete when none is.
    Returns the run and those lines; ValueError when no case matches `pattern`."""
    from .batch import request_line
    from .llm import LLMError

    started = _time.monotonic()
    folder = Path(folder or EVALS / "runs")
    letter_files = sorted((EVALS / "critic").glob(f"{pattern}.toml"))
    letters = [(path.stem, item) for path in letter_files for item in load_letters(path)]
    notice_files = sorted((EVALS / "notices").glob(f"{pattern}.toml"))
    cases = _notice_cases(notice_files)
    units = _units(backend, letters, cases)
    if not units:
        raise ValueError(f"no labeled cases match {pattern!r} in {EVALS / 'critic'} or {EVALS / 'notices'}")
    identity = model_identity(backend)
    prints = {u.key: fingerprint(u.key, u.source, identity) for u in units}
    if journal is None:
        at = _datetime.now(_timezone.utc).isoformat(timespec="seconds")
        run_id = _run_id(folder, at)
        journal = Journal.create(folder / f"{run_id}.jsonl", {"id": run_id, "at": at, "cases": pattern,
                                                             "settings": backend.settings.public(), "identity": identity})
    run_id, at = journal.header["id"], journal.header["at"]
    entries: dict[str, dict] = {}
    carried: dict[str, list[dict]] = {}  # usage of earlier Batch rounds of a case still under way
    stale = 0
    for entry in journal.entries():
        key = entry["key"]
        if prints.get(key) != entry.get("fingerprint"):
            stale += key in prints and "output" in entry
        elif "output" in entry or ("error" in entry and transport is not None):
            # A live run tries failed cases again (a 429 passes); a Batch round keeps them, so rounds end.
            entries[key] = entry
        elif "pending" in entry:
            carried.setdefault(key, []).append(entry["usage"])
    for key in entries:
        carried.pop(key, None)
    if stale and notify:
        notify(f"{stale} cases in the journal were made with other settings or inputs; they are run again")
    resumed = len(entries)
    todo = [u for u in units if u.key not in entries]

    tally = _Tally(backend.log, skip=transport.holding if transport is not None else None)
    real_log, backend.log = backend.log, tally
    session: list[dict] = []
    pending: list[dict] = []  # Batch input lines
    waiting: set[str] = set()  # the cases they belong to

    def work(unit: _Unit) -> tuple[dict, list[dict]]:
        tally.start()
        if transport is not None:
            transport.take()
        began = _time.monotonic()
        entry, kept = {"key": unit.key, "fingerprint": prints[unit.key]}, []
        try:
            entry["output"] = unit.job().model_dump(mode="json")
        except LLMError as exc:
            kept = transport.take() if transport is not None else []
            if kept:
                entry["pending"] = len(kept)
            else:
                entry["error"], entry["detail"] = str(exc), _innermost(exc)
        except Exception as exc:  # a broken answer or a bug in one case must not stop the others
            entry["error"], entry["detail"] = f"{type(exc).__name__}: {exc}"[:500], _innermost(exc)
        entry["usage"] = _usage(tally.calls())
        entry["seconds"] = round(_time.monotonic() - began, 3)
        return entry, kept

    def finish(unit: _Unit, entry: dict, kept: list[dict]) -> None:
        session.append(entry["usage"])
        if "pending" not in entry and unit.key in carried:
            entry["usage"] = _added(entry["usage"], *carried.pop(unit.key))
        journal.append(entry)
        if "pending" in entry:
            pending.extend(request_line(unit.key, body) for body in kept)
            waiting.add(unit.key)
        else:
            entries[unit.key] = entry

    stop = _threading.Event()
    finished: _queue.SimpleQueue = _queue.SimpleQueue()
    queued: _queue.SimpleQueue = _queue.SimpleQueue()
    for unit in todo:
        queued.put(unit)

    def worker() -> None:
        while not stop.is_set():
            try:
                unit = queued.get_nowait()
            except _queue.Empty:
                return
            try:
                result = work(unit)
            except BaseException as exc:  # noqa: BLE001 - the main thread must hear of every case
                result = ({"key": unit.key, "fingerprint": prints[unit.key], "error": repr(exc)[:500],
                           "usage": _usage([]), "seconds": 0.0}, [])
            finished.put((unit, result))

    # Daemon threads: a second Ctrl-C need not wait for a model call to time out.
    threads = [_threading.Thread(target=worker, daemon=True, name=f"poa-eval-{i}")
               for i in range(max(1, min(concurrency, len(todo))))]
    done = resumed
    interrupted = _threading.Event()
    try:
        with _ctrl_c_sets(interrupted):
            for thread in threads:
                thread.start()
            if progress:
                progress("cases", done, len(units))
            remaining = len(todo)
            while remaining and not interrupted.is_set():
                try:
                    unit, (entry, kept) = finished.get(timeout=0.1)
                except _queue.Empty:
                    if not any(t.is_alive() for t in threads):
                        break
                    continue
                remaining -= 1
                finish(unit, entry, kept)
                done += 1
                if progress:
                    progress("cases", done, len(units))
        if interrupted.is_set():
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        stop.set()
        flying = sum(t.is_alive() for t in threads)
        if notify and flying:
            notify(f"stopping: letting the {flying} cases in flight finish (Ctrl-C again to stop at once)")
        try:
            while any(t.is_alive() for t in threads) or not finished.empty():
                try:
                    unit, (entry, kept) = finished.get(timeout=0.1)
                except _queue.Empty:
                    continue
                finish(unit, entry, kept)
        except KeyboardInterrupt:
            pass
        raise EvalInterrupted(run_id, journal.path, sum(1 for e in entries.values() if "output" in e),
                              len(units)) from None
    finally:
        backend.log = real_log

    run = _model_run(backend, units, entries, letters, cases, identity, transport)
    answered = sum(1 for e in entries.values() if "output" in e)
    run.update({"at": at, "id": run_id, "cases": pattern, "journal": str(journal.path),
                "seconds": round(_time.monotonic() - started, 2)})
    run["usage"].update({"resumed": resumed, "pending": len(waiting),
                         "answered": answered,
                         "session": {"calls": sum(u["calls"] for u in session), "live_calls": sum(u["live"] for u in session),
                                     "cached_calls": sum(u["cached"] for u in session)},
                         "concurrency": concurrency})
    return run, pending


def _model_run(backend, units: list[_Unit], entries: dict[str, dict], letters, cases, identity: dict, transport) -> dict:
    """Score the answered cases with the offline path's scorers; errors and usage by case and stage."""
    outputs = {k: e["output"] for k, e in entries.items() if "output" in e}
    by_key = {u.key: u for u in units}
    failed = {u.key: entries[u.key] for u in units if u.key in entries and "output" not in entries[u.key]}

    def usage_of(key: str) -> dict:
        entry = entries.get(key, {})
        return {**entry.get("usage", _usage([])), "seconds": entry.get("seconds", 0.0)}

    def error_row(key: str) -> dict:
        unit, entry = by_key[key], entries[key]
        return {"id": unit.case, "set": unit.set, "error": entry["error"], "detail": entry.get("detail", ""),
                **usage_of(key)}

    metrics: dict[str, float] = {}
    critic_answered = [(name, item) for name, item in letters if f"critic:{item.id}" in outputs]
    critiques = {item.id: Critique.model_validate(outputs[f"critic:{item.id}"]) for _, item in critic_answered}
    report = score_critiques((item, critiques[item.id]) for _, item in critic_answered)
    if critic_answered:
        metrics.update(critic_metrics(report))
    critic_rows = []
    for name, item in letters:
        key = f"critic:{item.id}"
        if item.id in critiques:
            c = critiques[item.id]
            critic_rows.append({"id": item.id, "set": name, "score": c.score, "verdict": c.verdict,
                                "findings": [{"category": f.category, "rule": f.rule, "severity": f.severity,
                                              "start": f.start, "end": f.end, "source": f.source} for f in c.findings],
                                **usage_of(key)})
        elif key in failed:
            critic_rows.append(error_row(key))

    def answered(stage: str, model) -> list[tuple[dict, object]]:
        return [(case, model.model_validate(outputs[f"{stage}:{case['id']}"])) for case in cases
                if f"{stage}:{case['id']}" in outputs]

    def with_rows(stage: str, rows: list[dict]) -> list[dict]:
        out = [{**row, **usage_of(f"{stage}:{row['id']}")} for row in rows]
        return out + [error_row(k) for k in failed if k.startswith(stage + ":")]

    readings, drafts, full = answered("notice", Notice), answered("draft", Draft), answered("facts", Draft)
    notices = score_readings(readings)
    drafted = score_draft_results(drafts)
    full_scored = score_full_facts(full)
    for results, scored in ((readings, notices), (drafts, drafted), (full, full_scored)):
        if results:
            metrics.update(scored["metrics"])
    metrics["model.answered"] = round(len(outputs) / len(units), 4) if units else 1.0

    stages = {}
    for stage in ("critic", "notice", "draft", "facts"):
        keys = [u.key for u in units if u.stage == stage]
        if keys:
            total = _added(*[entries[k]["usage"] for k in keys if k in entries])
            stages[stage] = {"cases": len(keys), "answered": sum(k in outputs for k in keys),
                             "errors": sum(k in failed for k in keys), **total}
    done = [entries[u.key] for u in units if u.key in entries]
    total = _added(*[e["usage"] for e in done])
    n = len(done) or 1
    usage = {"transport": "batch" if transport is not None else "live", "cases": len(units), "errors": len(failed),
             "calls": total["calls"], "live_calls": total["live"], "cached_calls": total["cached"],
             "tokens_in": total["tokens_in"], "tokens_out": total["tokens_out"], "latency_ms": total["latency_ms"],
             "cost_usd": total["cost_usd"],
             "per_case": {"calls": round(total["calls"] / n, 2), "tokens_in": round(total["tokens_in"] / n, 1),
                          "tokens_out": round(total["tokens_out"] / n, 1), "latency_ms": round(total["latency_ms"] / n),
                          "cost_usd": round(total["cost_usd"] / n, 6),
                          "seconds": round(sum(e.get("seconds", 0.0) for e in done) / n, 3)},
             "stages": stages}
    if transport is not None:
        usage["cost_note"] = "estimated at live prices; the Batch API bills half"
    settings = {k: v for k, v in backend.settings.public().items() if k != "api_key_set"}
    return {
        "backend": backend.name, "rules_version": identity["rules_version"], "prompts": identity["prompts"],
        "settings": settings, "metrics": metrics, "usage": usage,
        "critic": {"sets": sorted({name for name, _ in letters}),
                   "missed": [{"letter": lid, "category": lab.category, "quote": lab.quote} for lid, lab in report.missed],
                   "false_findings": [{"letter": lid, "rule": f.rule, "quote": f.quote} for lid, f in report.false_findings],
                   "cases": critic_rows},
        "notices": {"sets": sorted({c["set"] for c in cases}), "confusion": notices["confusion"],
                    "cases": with_rows("notice", notices["cases"])},
        "drafts": {"cases": with_rows("draft", drafted["cases"]), "full_facts": with_rows("facts", full_scored["cases"])},
    }


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
    transport = f" ({run['usage']['transport']})" if run.get("usage") else ""
    lines = [f"# Evaluation {run['at']}", "", f"Backend: {run['backend']}{transport} · rules {run['rules_version']} · "
             f"{run['seconds']} s", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in sorted(run["metrics"].items())]
    usage = run.get("usage")
    if usage:  # a model-path run: what it cost, and what failed
        per = usage["per_case"]
        lines += ["", "## Calls", "",
                  f"{usage['cases']} cases, {usage['answered']} answered, {usage['errors']} errors"
                  + (f", {usage['resumed']} taken from the journal" if usage.get("resumed") else "") + ".",
                  f"{usage['calls']} calls ({usage['live_calls']} {'answered by the Batch API' if usage['transport'] == 'batch' else 'live'}, "
                  f"{usage['cached_calls']} from the cache); {usage['tokens_in']} tokens in, {usage['tokens_out']} out; "
                  f"estimated ${usage['cost_usd']:.4f}" + (f" ({usage['cost_note']})" if usage.get("cost_note") else "") + ".",
                  f"Per case: {per['calls']} calls, {per['tokens_in']:.0f} + {per['tokens_out']:.0f} tokens, "
                  f"{per['latency_ms']} ms in model calls, ${per['cost_usd']:.5f}.", "",
                  "| stage | cases | errors | calls | live | cached | tokens in | tokens out | cost $ |", "|---|---|---|---|---|---|---|---|---|"]
        lines += [f"| {name} | {st['cases']} | {st['errors']} | {st['calls']} | {st['live']} | {st['cached']} | "
                  f"{st['tokens_in']} | {st['tokens_out']} | {st['cost_usd']:.4f} |" for name, st in usage["stages"].items()]
        failed = [(block, row) for block in ("critic", "notices", "drafts") for row in run[block].get("cases", [])
                  if "error" in row] + [("full_facts", row) for row in run["drafts"].get("full_facts", []) if "error" in row]
        if failed:
            lines += ["", "## Errors", ""] + [f"- {block} {row['id']}: {row['error']}" for block, row in failed[:20]]
            lines += [f"- ... and {len(failed) - 20} more"] if len(failed) > 20 else []
    if comparison:
        moved = [r for r in comparison if r["change"] in ("worse", "better", "missing")]
        lines += ["", "## Against the baseline", ""]
        lines += [f"- {r['change']}: {r['metric']} {r['old']} -> {r['new']}" for r in moved] or ["- no change"]
    return "\n".join(lines) + "\n"


def write_run(run: dict, folder: Path | None = None) -> tuple[Path, Path]:
    folder = folder or EVALS / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    stem = run.get("id") or _stem(run["at"])
    json_path, md_path = folder / f"{stem}.json", folder / f"{stem}.md"
    json_path.write_text(_json.dumps(run, ensure_ascii=False, indent=2), encoding="utf-8")
    md_path.write_text(summary_markdown(run, run.get("comparison")), encoding="utf-8")
    return json_path, md_path
