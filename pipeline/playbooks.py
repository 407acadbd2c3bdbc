"""Playbooks: per violation, what Amazon asks for, the usual root causes, and the corrective actions
and preventive measures that fit each, with the proof that makes them credible (corpus/playbooks/)."""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import BaseModel, ValidationError

from . import corpus
from .models import DOCUMENTS, VIOLATIONS

SLOT = re.compile(r"\{(\w+)\}")
# Filled from the notice, not asked: the seller cannot get these wrong.
RESERVED = {
    "asins": "ASINs named in the notice",
    "order_ids": "order IDs named in the notice",
    "complaint_ids": "complaint IDs named in the notice",
    "rights_ids": "trademark or patent numbers named in the notice",
    "marketplace": "marketplace",
    "metric_value": "the metric value in the notice",
    "metric_target": "the metric target in the notice",
    "notice_date": "date of the notice",
}


class Slot(BaseModel):
    label: str
    ask: str
    ask_zh: str = ""
    proof: str = ""
    example: str = ""


class Step(BaseModel):
    text: str
    proof: str = ""


class RootCause(BaseModel):
    id: str
    label: str
    label_zh: str = ""
    text: str
    corrective: list[Step]
    preventive: list[Step]

    def slot_ids(self) -> list[str]:
        """Slots this root cause's texts use, in order of first use."""
        seen: list[str] = []
        for text in [self.text] + [s.text for s in self.corrective + self.preventive]:
            for name in SLOT.findall(text):
                if name not in seen:
                    seen.append(name)
        return seen


class Playbook(BaseModel):
    id: str
    title: str
    title_zh: str = ""
    kind: str = "other"
    amazon_asks: list[str] = []
    documents: list[str] = []
    avoid: list[str] = []
    slots: dict[str, Slot] = {}
    root_causes: list[RootCause]

    def root_cause(self, rid: str) -> RootCause:
        for rc in self.root_causes:
            if rc.id == rid:
                return rc
        known = ", ".join(rc.id for rc in self.root_causes)
        raise KeyError(f"no root cause {rid!r} in the {self.id} playbook; known: {known}")


def _check(book: Playbook) -> list[str]:
    problems = []
    if book.id not in VIOLATIONS:
        problems.append(f"id {book.id!r} is not a violation id")
    problems += [f"unknown document id {d!r}" for d in book.documents if d not in DOCUMENTS]
    if not book.root_causes:
        problems.append("no root causes")
    for rc in book.root_causes:
        if not rc.corrective or not rc.preventive:
            problems.append(f"root cause {rc.id} needs corrective and preventive steps")
        for name in rc.slot_ids():
            if name not in book.slots and name not in RESERVED:
                problems.append(f"root cause {rc.id} uses slot {{{name}}} that is not defined")
    return problems


@lru_cache(maxsize=1)
def load_playbooks() -> dict[str, Playbook]:
    """Every playbook by violation id; raises ValueError naming the file and the problem."""
    books = {}
    for stem, data in corpus.load_all("playbooks").items():
        try:
            book = Playbook.model_validate(data)
        except ValidationError as exc:
            raise ValueError(f"playbook {stem}.toml: {exc}") from exc
        problems = _check(book)
        if problems:
            raise ValueError(f"playbook {stem}.toml: " + "; ".join(problems))
        books[book.id] = book
    missing = [v for v in VIOLATIONS if v not in books]
    if missing:
        raise ValueError(f"no playbook for {missing}")
    return books


def playbook_for(violation: str) -> Playbook:
    books = load_playbooks()
    return books.get(violation, books["other"])
