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


# --- notices ------------------------------------------------------------------------------------------

VIOLATIONS: tuple[str, ...] = (
    "order_defect_rate",
    "late_shipment_rate",
    "pre_fulfillment_cancel_rate",
    "valid_tracking_rate",
    "inauthentic",
    "intellectual_property",
    "restricted_products",
    "related_accounts",
    "condition_complaints",
    "product_safety",
    "listing_policy",
    "review_manipulation",
    "seller_code_of_conduct",
    "other",
)
METRICS: tuple[str, ...] = VIOLATIONS[:4]

DOCUMENTS: tuple[str, ...] = (
    "invoices",
    "supplier_contact",
    "letter_of_authorization",
    "test_report",
    "certificate_of_conformity",
    "safety_data_sheet",
    "epa_registration",
    "fda_registration",
    "product_images",
    "business_license",
    "identity_document",
    "utility_bill",
    "bank_statement",
    "tracking_details",
    "retraction",
    "plan_of_action",
)


class Candidate(BaseModel):
    violation: str
    score: float = Field(ge=0, le=1)


class Metric(BaseModel):
    """An account-health metric the notice states, value in percent."""

    name: str  # one of METRICS
    value: float
    target: str = ""  # as a reviewer reads it: "under 1%", "above 95%"


class Notice(BaseModel):
    """What an Amazon notice alleges and asks for. Identifiers are exactly those in the text."""

    violation: str  # one of VIOLATIONS ("other" when unsure)
    confidence: float = Field(ge=0, le=1)
    candidates: list[Candidate] = []
    asins: list[str] = []
    order_ids: list[str] = []
    dates: list[str] = []  # ISO dates found in the notice, in order of appearance
    metrics: list[Metric] = []
    marketplace: str = ""  # lower-case domain such as "amazon.com", or "" when not stated
    deadline_days: int | None = None
    requested_documents: list[str] = []  # ids from DOCUMENTS
    policies: list[str] = []
    complaint_ids: list[str] = []
    rights_ids: list[str] = []  # trademark, patent or copyright numbers as written
    language: Literal["en", "zh"] = "en"
    warnings: list[str] = []  # what the reader could not do, for the user to check


# --- playbooks, questions, facts and drafts ------------------------------------------------------------


class Option(BaseModel):
    id: str
    label: str
    label_zh: str = ""


class Question(BaseModel):
    """One thing to ask the seller, with the proof Amazon will want for the answer."""

    id: str
    ask: str
    ask_zh: str = ""
    proof: str = ""
    kind: Literal["choice", "text", "list"] = "text"
    options: list[Option] = []
    slot: str | None = None  # the playbook slot the answer fills
    root_cause: str | None = None  # the root cause the question belongs to (None: every draft)
    example: str = ""


class ActionFact(BaseModel):
    """A corrective action the seller has already taken."""

    model_config = ConfigDict(extra="forbid")
    what: str = Field(description="What was done, in the past tense: 'we removed the 3 ASINs from sale'")
    date: str | None = Field(default=None, description="When it was completed, e.g. 2026-03-16")
    evidence: str | None = Field(default=None, description="The proof a reviewer can check: screenshot, invoice number, report")


class MeasureFact(BaseModel):
    """A preventive measure now in place."""

    model_config = ConfigDict(extra="forbid")
    what: str = Field(description="The check or control: 'compares handling time with the carrier pickup time'")
    owner: str | None = Field(default=None, description="Name and role of the person responsible")
    frequency: str | None = Field(default=None, description="How often: 'every Monday', 'before each shipment'")
    start: str | None = Field(default=None, description="From when, e.g. 2026-04-01")


class Facts(BaseModel):
    """The seller's answers to the evidence questions. Every field is optional; what is missing stays
    a bracketed slot in the draft."""

    model_config = ConfigDict(extra="forbid")
    root_causes: list[str] = Field(default=[], description="Ids of the playbook root causes that apply")
    what_happened: str | None = Field(default=None, description="What happened, when, and how you found the cause")
    slots: dict[str, str] = Field(default={}, description="Answers to slot questions, by slot id")
    actions: list[ActionFact] = Field(default=[], description="Further corrective actions already taken")
    measures: list[MeasureFact] = Field(default=[], description="Further preventive measures in place")
    signer: str | None = Field(default=None, description="Name and role of the person signing")
    store: str | None = Field(default=None, description="Store or company name")


class RootCauseItem(BaseModel):
    id: str | None = None  # playbook root cause id, None for the seller's own words
    text: str


class ActionItem(BaseModel):
    text: str
    date: str | None = None
    evidence: str | None = None
    proof_needed: str = ""


class MeasureItem(BaseModel):
    text: str
    owner: str | None = None
    frequency: str | None = None
    start: str | None = None
    proof_needed: str = ""


class POA(BaseModel):
    root_causes: list[RootCauseItem]
    corrective_actions: list[ActionItem]
    preventive_measures: list[MeasureItem]


class Draft(BaseModel):
    """A Plan of Action drafted from a notice and the seller's facts, with its own critique."""

    notice: Notice
    playbook: str
    poa: POA
    text: str  # plain text for the Seller Central form
    markdown: str
    critique: Critique
    questions: list[Question]
    open_slots: list[str]  # facts still missing, as the bracketed labels in the letter
    documents: list[str]  # what to attach
    section_chars: dict[str, int]  # characters per section, for Seller Central's form fields
    stats: TextStats
    warnings: list[str] = []
    backend: str = "offline"


class Version(BaseModel):
    """One version of a case's letter, with its critique."""

    number: int
    created: str
    text: str
    source: str  # "draft", "edit", "critique", "import"
    backend: str = "offline"
    critique: Critique | None = None


class Case(BaseModel):
    """A case as the case store keeps it (pipeline/cases.py): notice, facts and every letter version."""

    id: str
    title: str
    mode: str  # "draft" (from a notice) or "critique" (an existing letter)
    status: str = "open"
    created: str
    updated: str
    notice_text: str = ""
    notice: Notice | None = None
    facts: Facts | None = None
    versions: list[Version] = []
