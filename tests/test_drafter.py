"""The offline drafter: structure, identifiers, slots instead of invented facts, and its own critic."""

import pytest

from pipeline.drafter import draft, questions
from pipeline.models import METRICS, VIOLATIONS, ActionFact, Facts, MeasureFact, Metric, Notice
from pipeline.playbooks import SLOT, load_playbooks

LINE_CATEGORIES = ("vague", "missing_evidence", "blame_shifting", "emotional_appeal")
BOOKS = load_playbooks()
CAUSES = [(v, rc.id) for v, book in BOOKS.items() for rc in book.root_causes]


def notice_for(violation: str) -> Notice:
    return Notice(
        violation=violation, confidence=0.9, asins=["B07PQRS123", "B08XYZ1234"], order_ids=["112-3344556-7788990"],
        marketplace="amazon.com", dates=["2026-03-10"], complaint_ids=["9876543210"], rights_ids=["5234567"],
        metrics=[Metric(name=violation, value=2.35, target="under 1%")] if violation in METRICS else [],
    )


def full_facts(violation: str, rc: str) -> Facts:
    book = BOOKS[violation]
    return Facts(root_causes=[rc], slots={k: s.example for k, s in book.slots.items()},
                 signer="Wang Fang, Operations Manager", store="Acme Home Store")


def test_every_violation_has_a_playbook():
    assert set(BOOKS) == set(VIOLATIONS)


@pytest.mark.parametrize("violation,rc", CAUSES)
def test_draft_from_the_notice_alone(violation, rc):
    result = draft(notice_for(violation), Facts(root_causes=[rc]))
    assert all(result.critique.sections.model_dump().values())
    for asin in ("B07PQRS123", "B08XYZ1234", "9876543210"):
        assert asin in result.text
    serious = [f for f in result.critique.findings if f.severity == "high" and f.category in LINE_CATEGORIES]
    assert serious == [], [(f.rule, f.quote) for f in serious]
    # Nothing invented: every fact the seller has not given is an open slot the critic calls a placeholder.
    assert result.open_slots
    flagged = {f.quote for f in result.critique.findings if f.category == "placeholder"}
    assert all(slot in flagged for slot in result.open_slots)
    assert not SLOT.search(result.text), "a {slot} was left unrendered"


@pytest.mark.parametrize("violation,rc", CAUSES)
def test_draft_with_complete_facts_is_ready(violation, rc):
    result = draft(notice_for(violation), full_facts(violation, rc))
    assert result.open_slots == []
    assert result.critique.verdict == "ready", [(f.rule, f.quote) for f in result.critique.findings]


def test_default_draft_uses_the_first_root_cause_and_offers_the_others():
    result = draft(notice_for("late_shipment_rate"))
    assert [r.id for r in result.poa.root_causes] == [BOOKS["late_shipment_rate"].root_causes[0].id]
    choice = result.questions[0]
    assert choice.kind == "choice" and len(choice.options) == len(BOOKS["late_shipment_rate"].root_causes)


def test_questions_name_their_proof_and_cover_the_chosen_cause():
    notice = notice_for("inauthentic")
    book = BOOKS["inauthentic"]
    rc = book.root_causes[1]
    asked = questions(notice, Facts(root_causes=[rc.id]))
    slots = {q.slot for q in asked if q.slot}
    assert slots == {s for s in rc.slot_ids() if s in book.slots}
    assert all(q.proof for q in asked if q.slot)
    assert all(q.ask_zh for q in asked)


def test_seller_actions_and_measures_are_rendered_with_their_proof():
    facts = full_facts("late_shipment_rate", "handling_time_too_short")
    facts.actions = [ActionFact(what="Refunded the 14 late orders", date="2026-03-16", evidence="refund report, Attachment 4")]
    facts.measures = [MeasureFact(what="reviews the late shipment report", owner="Li Na, CS lead", frequency="every Friday", start="2026-04-03")]
    result = draft(notice_for("late_shipment_rate"), facts)
    assert "On 2026-03-16, refunded the 14 late orders (refund report, Attachment 4)." in result.text
    assert "From 2026-04-03, Li Na, CS lead reviews the late shipment report every Friday." in result.text
    assert result.critique.verdict == "ready"


def test_missing_parts_of_a_seller_action_stay_slots():
    facts = Facts(actions=[ActionFact(what="we removed the listing")])
    result = draft(notice_for("listing_policy"), facts)
    assert "On [date this was done], we removed the listing ([proof of this action])." in result.text
    assert "[date this was done]" in result.open_slots


def test_unknown_root_cause_is_a_clear_error():
    with pytest.raises(KeyError, match="no root cause 'made_up'"):
        draft(notice_for("inauthentic"), Facts(root_causes=["made_up"]))


def test_facts_reject_unknown_fields():
    with pytest.raises(Exception):
        Facts.model_validate({"root_cause": "typo"})


def test_markdown_and_counts():
    result = draft(notice_for("order_defect_rate"))
    assert "## Root Cause" in result.markdown and "## Preventive Measures" in result.markdown
    assert result.stats.characters == len(result.text)
    assert set(result.section_chars) == {"root_causes", "corrective_actions", "preventive_measures"}
    assert result.stats.words < 600  # a reviewer reads it in minutes


def test_notice_without_identifiers_still_drafts():
    result = draft(Notice(violation="other", confidence=0.0))
    assert all(result.critique.sections.model_dump().values())
    assert "[date of the notice]" not in result.text or "[date of the notice]" in result.open_slots


def test_a_seller_sentence_that_already_says_when_how_and_who_gets_no_slot_for_it():
    facts = Facts(
        what_happened="Our handling time was 1 day while the carrier collected only on Mondays and Thursdays.",
        actions=[ActionFact(what="2026-03-03: added Evri as a second carrier (contract, Attachment 2)"),
                 ActionFact(what="Raised handling time to 2 days on all 86 SKUs")],
        measures=[MeasureFact(what="Our ops manager Li Na checks the Late Shipment Rate every Monday from 2026-03-09"),
                  MeasureFact(what="Warehouse confirms shipment at 15:00")],
    )
    result = draft(notice_for("late_shipment_rate"), facts)
    assert "1. 2026-03-03: added Evri as a second carrier (contract, Attachment 2)." in result.text
    assert "On [date this was done], raised handling time to 2 days on all 86 SKUs ([proof of this action])." in result.text
    assert "Our ops manager Li Na checks the Late Shipment Rate every Monday from 2026-03-09." in result.text
    assert ("From [start date], warehouse confirms shipment at 15:00 [how often] "
            "(owner: [name and role of the owner]).") in result.text
    # The seller's own account is the root cause: no playbook cause with its own slots beside it.
    root = result.text.split("Root Cause", 1)[1].split("Corrective Actions", 1)[0]
    assert root.count("\n1. ") == 1 and "2. " not in root


def test_names_keep_their_capitals_and_answers_not_in_english_are_warned_about():
    facts = Facts(what_happened="Our team set the handling time to 1 day for all SKUs.",
                  actions=[ActionFact(what="Seller Central access limited to 2 staff", date="2026-03-11",
                                      evidence="user list, Attachment 1"),
                           ActionFact(what="Refunded the 3 buyers", date="2026-03-12", evidence="refund report")],
                  measures=[MeasureFact(what="每周一检查延迟发货率", owner="王芳", frequency="every Monday")])
    result = draft(notice_for("late_shipment_rate"), facts)
    assert "On 2026-03-11, Seller Central access limited to 2 staff (user list, Attachment 1)." in result.text
    assert "On 2026-03-12, refunded the 3 buyers (refund report)." in result.text
    assert any("not in English" in w for w in result.warnings)
    assert not draft(notice_for("late_shipment_rate"), Facts(what_happened="Our handling time was 1 day.")).warnings
