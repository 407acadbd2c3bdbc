"""The Pydantic models every step shares: the offline engine and the LLM backend both produce these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, model_validator

Category = Literal[
    "vague",
    "missing_evidence",
    "blame_shifting",
    "emotional_appeal",
    "placeholder",
    "over_admission",
    "missing_section",
    "future_only",
    "length",
    "language",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]

Severity = Literal["high", "medium", "low"]
SEVERITIES: tuple[str, ...] = ("high", "medium", "low")  # most severe first

SectionName = Literal["root_cause", "corrective_actions", "preventive_measures"]
SECTION_NAMES: tuple[str, ...] = SectionName.__args__  # type: ignore[attr-defined]

Verdict = Literal["ready", "needs_work", "not_ready"]


def severity_rank(severity: str) -> int:
    """0 for high, 1 for medium, 2 for low: smaller is more severe."""
    return SEVERITIES.index(severity)


class Finding(BaseModel):
    """One weak spot in a letter, pointing at `text[start:end] == quote`."""

    model_config = ConfigDict(extra="forbid")

    category: Category
    rule: str
    severity: Severity
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    quote: str
    message: str
    suggestion: str
    source: Literal["rules", "llm"] = "rules"

    @model_validator(mode="after")
    def _span_matches_text(self, info: ValidationInfo) -> "Finding":
        if self.end < self.start:
            raise ValueError(f"end ({self.end}) is before start ({self.start})")
        text = (info.context or {}).get("text") if info else None
        if text is not None and text[self.start : self.end] != self.quote:
            raise ValueError(
                f"quote {self.quote!r} is not the text at {self.start}:{self.end}; "
                "quote the letter exactly"
            )
        return self


class Sections(BaseModel):
    """Which of the three parts Amazon expects the letter has, with content under them."""

    root_cause: bool
    corrective_actions: bool
    preventive_measures: bool


class SectionSpan(BaseModel):
    """Where a section stands: its heading (empty when inferred) and its body."""

    name: SectionName
    heading_start: int
    heading_end: int
    body_start: int
    body_end: int
    inferred: bool = False


class Deduction(BaseModel):
    """What one rule's findings cost the readiness score."""

    rule: str
    category: Category
    severity: Severity
    count: int
    points: int


class TextStats(BaseModel):
    words: int
    characters: int


class Critique(BaseModel):
    """The critic's answer for one letter."""

    findings: list[Finding]
    sections: Sections
    section_spans: list[SectionSpan] = []
    score: int = Field(ge=0, le=100)
    verdict: Verdict
    verdict_reason: str
    deductions: list[Deduction]
    stats: TextStats
    rules_version: str
    backend: str = "offline"

    def at_or_above(self, severity: str) -> list[Finding]:
        """Findings at least as severe as `severity`."""
        limit = severity_rank(severity)
        return [f for f in self.findings if severity_rank(f.severity) <= limit]
