"""The offline drafter: a notice and the seller's facts to a Root Cause / Corrective / Preventive POA.

It never invents a fact. Sentences come from the violation's playbook; every case-specific detail is
a slot filled from the notice (ASINs, orders, dates) or from the seller's answers. What nobody has
given stays in the letter as a bracketed slot ("[date the listing was removed]"), which the critic
reports as a placeholder, so an unfinished draft cannot pass for a finished one.
"""

from __future__ import annotations

import re

from .critic import critique
from .letter import CJK, word_count
from .models import (
    POA,
    ActionItem,
    Draft,
    Facts,
    MeasureItem,
    Notice,
    Option,
    Question,
    RootCauseItem,
    TextStats,
)
from .playbooks import RESERVED, SLOT, Playbook, RootCause, playbook_for
from .rules import lexicon

SLOT_LABEL = re.compile(r"\[[a-z][^\[\]\n]*\]")  # an unfilled slot as the letter shows it
SECTION_TITLES = {
    "root_causes": "Root Cause",
    "corrective_actions": "Corrective Actions Taken",
    "preventive_measures": "Preventive Measures",
}


def _join(items: list[str]) -> str:
    return ", ".join(items)


def _notice_values(notice: Notice) -> dict[str, str]:
    """Reserved slot values the notice itself supplies."""
    values = {
        "asins": _join(notice.asins),
        "order_ids": _join(notice.order_ids),
        "complaint_ids": _join(notice.complaint_ids),
        "rights_ids": _join(notice.rights_ids),
        "marketplace": notice.marketplace,
        "notice_date": notice.dates[0] if notice.dates else "",
    }
    metric = next((m for m in notice.metrics if m.name == notice.violation), None)
    if metric is not None:
        values["metric_value"] = f"{metric.value:g}%"
        values["metric_target"] = metric.target
    return {k: v for k, v in values.items() if v}


class _Filler:
    """Fills {slot}s from facts and notice; records which are still open."""

    def __init__(self, book: Playbook, notice: Notice, facts: Facts):
        self.book = book
        self.values = {**_notice_values(notice), **{k: v.strip() for k, v in facts.slots.items() if v and v.strip()}}
        self.open: list[str] = []

    def label(self, name: str) -> str:
        if name in self.book.slots:
            return self.book.slots[name].label
        return RESERVED.get(name, name.replace("_", " "))

    def __call__(self, text: str) -> str:
        def one(match) -> str:
            name = match.group(1)
            if name in self.values:
                return self.values[name]
            label = f"[{self.label(name)}]"
            if label not in self.open:
                self.open.append(label)
            return label

        return SLOT.sub(one, text)


def _chosen(book: Playbook, facts: Facts) -> list[RootCause]:
    if not facts.root_causes:
        if facts.what_happened and facts.what_happened.strip():
            return []  # the seller's own account is the root cause: no playbook cause added beside it
        return [book.root_causes[0]]  # the most common cause; the questions offer the others
    return [book.root_cause(rid) for rid in facts.root_causes]


def questions(notice: Notice, facts: Facts | None = None) -> list[Question]:
    """What to ask the seller for this notice: the root cause, what happened, then each fact the
    chosen root causes need (all root causes' facts when none is chosen yet), each with its proof."""
    facts = facts or Facts()
    book = playbook_for(notice.violation)
    out = [
        Question(
            id="root_causes",
            kind="choice",
            ask=f"Which of these caused the {book.title.lower()}? Pick every one that applies.",
            ask_zh=f"导致「{book.title_zh or book.title}」的原因是哪些？可多选。",
            proof="The records that show it: order list, settings history, invoices or the report you checked",
            options=[Option(id=rc.id, label=rc.label, label_zh=rc.label_zh) for rc in book.root_causes],
        ),
        Question(
            id="what_happened",
            ask="What happened, when, and how did you find the cause? Give dates and numbers.",
            ask_zh="发生了什么、什么时候发生的、你们是如何查到原因的？请写明日期和数量。",
            proof="The dates and the report or records you checked (for example the order report for the period)",
        ),
    ]
    causes = _chosen(book, facts) if facts.root_causes else book.root_causes
    asked: set[str] = set()
    for rc in causes:
        for name in rc.slot_ids():
            if name in asked or name in RESERVED or name not in book.slots:
                continue
            asked.add(name)
            slot = book.slots[name]
            out.append(
                Question(
                    id=f"slot.{name}", ask=slot.ask, ask_zh=slot.ask_zh, proof=slot.proof,
                    slot=name, root_cause=rc.id, example=slot.example,
                )
            )
    out += [
        Question(
            id="actions", kind="list",
            ask="Anything else you have already done to fix this? For each: what, the date, and the proof.",
            ask_zh="还做了哪些纠正措施？每项请写：做了什么、日期、证明材料。",
            proof="A screenshot, invoice, report or record for each action",
        ),
        Question(
            id="measures", kind="list",
            ask="Any other check now in place to prevent a repeat? For each: what, who owns it, how often, from when.",
            ask_zh="还有哪些预防措施？每项请写：做什么、负责人、频率、开始日期。",
            proof="The checklist, log or calendar that shows the check runs",
        ),
        Question(id="signer", ask="Who signs the letter (name and role)?", ask_zh="署名人（姓名和职位）？"),
        Question(id="store", ask="Store or company name?", ask_zh="店铺或公司名称？"),
    ]
    return out


def _intro(notice: Notice, book: Playbook) -> str:
    when = f" of {notice.dates[0]}" if notice.dates else ""
    where = f" on {notice.marketplace}" if notice.marketplace else ""
    parts = [f"This plan of action answers your notice{when}{where}: {book.title}."]
    named = []
    if notice.asins:
        named.append(("ASIN " if len(notice.asins) == 1 else "ASINs ") + _join(notice.asins))
    if notice.order_ids:
        named.append(("order " if len(notice.order_ids) == 1 else "orders ") + _join(notice.order_ids))
    if notice.complaint_ids:
        named.append(("complaint ID " if len(notice.complaint_ids) == 1 else "complaint IDs ") + _join(notice.complaint_ids))
    if notice.rights_ids:
        named.append("rights " + _join(notice.rights_ids))
    if named:
        parts.append("It covers " + "; ".join(named) + ".")
    return " ".join(parts)


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


# Names a seller's sentence may open with, kept capitalised after "On <date>, ".
_PROPER = ("amazon", "seller central", "fba", "ups", "usps", "dhl", "fedex", "royal mail", "evri", "yunexpress")


def _mid_sentence(text: str) -> str:
    """`text` continuing a sentence: its first letter lower-cased, unless it opens with a name
    ("Seller Central", "Li Na", "UPS") — two capitalised words, an acronym, or a known name."""
    words = text.split(maxsplit=2)
    if not words or not words[0][:1].isupper():
        return text
    first = words[0]
    if (first[1:2].isupper() or text.lower().startswith(_PROPER)
            or (len(words) > 1 and words[1][:1].isupper())):
        return text
    return first[0].lower() + text[1:]


def _build(notice: Notice, facts: Facts, book: Playbook, fill: _Filler) -> POA:
    roots, actions, measures = [], [], []
    for rc in _chosen(book, facts):
        roots.append(RootCauseItem(id=rc.id, text=fill(rc.text)))
        actions += [ActionItem(text=fill(s.text), proof_needed=s.proof) for s in rc.corrective]
        measures += [MeasureItem(text=fill(s.text), owner=fill.values.get("owner"), start=fill.values.get("start_date"),
                                 proof_needed=s.proof) for s in rc.preventive]
    if facts.what_happened and facts.what_happened.strip():
        roots.append(RootCauseItem(text=_sentence(facts.what_happened)))
    lex = lexicon()
    for a in facts.actions:
        what = a.what.strip().rstrip(".")
        if not what:
            continue
        # A slot is added only for what the seller's sentence does not already say.
        if a.date:
            when = f"On {a.date}, "
        elif lex.has("date", what):
            when = ""
        else:
            when = "On [date this was done], "
        if a.evidence:
            proof = f" ({a.evidence})"
        elif lex.has("document", what) or lex.has("identifier", what):
            proof = ""
        else:
            proof = " ([proof of this action])"
        actions.append(ActionItem(text=f"{when}{_mid_sentence(what) if when else what}{proof}.",
                                  date=a.date, evidence=a.evidence))
    for m in facts.measures:
        what = m.what.strip().rstrip(".")
        if not what:
            continue
        start = f"From {m.start}, " if m.start else "" if lex.has("date", what) else "From [start date], "
        freq = f" {m.frequency}" if m.frequency else "" if lex.has("frequency", what) else " [how often]"
        # `what` is either a bare verb phrase ("reviews the report": the owner is its subject) or a
        # whole sentence with its own subject ("Warehouse confirms ..."): then the owner goes after it.
        names_owner = lex.has("owner", what) or lex.has("person", what)
        owner = m.owner or (None if names_owner else "[name and role of the owner]")
        if owner and what[0].islower():
            body, tail = f"{owner} {what}", ""
        else:
            body, tail = what, (f" (owner: {owner})" if owner else "")
        if start and body is what:
            body = _mid_sentence(body)
        measures.append(MeasureItem(text=f"{start}{body}{freq}{tail}.", owner=m.owner, frequency=m.frequency,
                                    start=m.start))
    for item in actions + measures:
        for label in SLOT_LABEL.findall(item.text):
            if label not in fill.open:
                fill.open.append(label)
    return POA(root_causes=roots, corrective_actions=actions, preventive_measures=measures)



def _render(notice: Notice, facts: Facts, book: Playbook, poa: POA, markdown: bool) -> tuple[str, dict[str, int]]:
    lines = ["Dear Seller Performance Team,", "", _intro(notice, book), ""]
    chars = {}
    for key, items in (("root_causes", poa.root_causes), ("corrective_actions", poa.corrective_actions),
                       ("preventive_measures", poa.preventive_measures)):
        body = [f"{i}. {item.text}" for i, item in enumerate(items, 1)]
        chars[key] = len("\n".join(body))
        lines.append(f"## {SECTION_TITLES[key]}" if markdown else SECTION_TITLES[key])
        lines += body + [""]
    documents = [d.replace("_", " ") for d in book.documents if d != "plan_of_action"]
    if documents:
        lines += [f"Supporting documents: {_join(documents)}.", ""]
    lines += [
        "We respectfully request the reinstatement of our selling privileges.",
        "",
        facts.signer or "[name and role of the person signing]",
        facts.store or "[store name]",
    ]
    return "\n".join(lines) + "\n", chars


def draft(notice: Notice, facts: Facts | None = None) -> Draft:
    """Draft the Plan of Action for `notice` from `facts` (none: every fact stays a slot)."""
    facts = facts or Facts()
    book = playbook_for(notice.violation)
    warnings = []
    unknown = sorted(set(facts.slots) - set(book.slots) - set(RESERVED))
    if unknown:
        warnings.append(f"answers for slots this playbook does not use were ignored: {', '.join(unknown)}")
    given = [facts.what_happened or "", *(a.what for a in facts.actions), *(m.what for m in facts.measures),
             *facts.slots.values()]
    if any(CJK.search(t) for t in given):
        warnings.append("some answers are not in English; the letter must be in English: write them in English, "
                        "or draft with the model backend, which translates them")
    fill = _Filler(book, notice, facts)
    poa = _build(notice, facts, book, fill)
    text, chars = _render(notice, facts, book, poa, markdown=False)
    md, _ = _render(notice, facts, book, poa, markdown=True)
    for label in ("[name and role of the person signing]", "[store name]"):
        if label in text and label not in fill.open:
            fill.open.append(label)
    return Draft(
        notice=notice,
        playbook=book.id,
        poa=poa,
        text=text,
        markdown=md,
        critique=critique(text),
        questions=questions(notice, facts),
        open_slots=fill.open,
        documents=list(book.documents),
        section_chars=chars,
        stats=TextStats(words=word_count(text), characters=len(text)),
        warnings=warnings,
    )
