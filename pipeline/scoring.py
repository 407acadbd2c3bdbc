"""Readiness: findings to a 0-100 score and a verdict, with what each rule cost (corpus/scoring.toml)."""

from __future__ import annotations

from . import corpus
from .models import Deduction, Finding, severity_rank


def _points(finding: Finding, table: dict) -> int:
    by_category = table.get("category_points", {})
    if finding.category in by_category and finding.severity == "high":
        return int(by_category[finding.category])
    return int(table["points"][finding.severity])


def readiness(findings: list[Finding]) -> tuple[int, str, str, list[Deduction]]:
    """Score, verdict, a one-line reason, and the deductions that explain the score."""
    table = corpus.load("scoring.toml")
    counted = int(table["limits"]["findings_counted_per_rule"])
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule, []).append(f)
    deductions = []
    for rule, group in by_rule.items():
        group = sorted(group, key=lambda f: severity_rank(f.severity))
        deductions.append(
            Deduction(
                rule=rule,
                category=group[0].category,
                severity=group[0].severity,
                count=len(group),
                points=sum(_points(f, table) for f in group[:counted]),
            )
        )
    deductions.sort(key=lambda d: (-d.points, d.rule))
    score = max(0, 100 - sum(d.points for d in deductions))

    rules = table["verdict"]
    highs = [f for f in findings if f.severity == "high"]
    blocking = sorted({f.category for f in highs if f.category in rules["blocking"]})
    if blocking:
        verdict, reason = "not_ready", f"not ready: {', '.join(c.replace('_', ' ') for c in blocking)} must be fixed first"
    elif score < rules["needs_work_at"]:
        verdict, reason = "not_ready", f"not ready: score {score} is below {rules['needs_work_at']}"
    elif score >= rules["ready_at"] and not highs:
        verdict, reason = "ready", f"ready: score {score}, no high-severity findings"
    elif highs:
        verdict, reason = "needs_work", f"needs work: {len(highs)} high-severity finding{'s' if len(highs) != 1 else ''} to fix"
    else:
        verdict, reason = "needs_work", f"needs work: score {score} is below {rules['ready_at']}"
    return score, verdict, reason, deductions
