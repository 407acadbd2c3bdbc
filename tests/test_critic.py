"""Behaviour of the offline critic on whole letters: spans, sections, score and verdict."""

import pytest

from pipeline import critique
from pipeline.evaluation import load_letters

STRONG = """Dear Seller Performance Team,

Root Cause
Our handling time in Seller Central was set to 1 day, but our carrier, YunExpress, collects parcels only at 3 pm, so
orders placed after noon were always handed over on day 2. We did not compare the setting with the pickup schedule.
We checked all 14 late orders named in the notice (e.g. 112-3344556-7788990) against our shipping log on 2026-03-14.

Corrective Actions
1. On 2026-03-15 our warehouse lead, Wang Fang, changed the handling time for all 212 SKUs from 1 to 2 days (screenshot, Attachment 1).
2. On 2026-03-16 we moved all orders to Amazon Buy Shipping, which confirms shipment when the label is bought (Attachment 2).
3. On 2026-03-17 all 6 warehouse staff completed a 1-hour session on the new cut-off (sign-in sheet, Attachment 3).

Preventive Measures
1. From 2026-03-18 Wang Fang checks the late shipment report in Seller Central every Monday; above 2% she reviews each late order within 24 hours.
2. Every quarter our operations manager, Li Na, compares the handling time with the carrier's pickup times and signs the check in our shipping log.
3. From 2026-04-01 orders received after 12 pm are packed the same day and handed to YunExpress at the 3 pm pickup.

We respectfully request reinstatement of our selling privileges.
Wang Fang, Warehouse Lead
"""


def _assert_all_three_parts(result):
    assert all(result.sections.model_dump().values()), result.section_spans
    assert not [f for f in result.findings if f.category == "missing_section"]


def _spans_exact(text, result):
    for f in result.findings:
        assert 0 <= f.start <= f.end <= len(text)
        assert text[f.start : f.end] == f.quote


def test_strong_letter_is_ready():
    result = critique(STRONG)
    assert result.findings == [], [f.rule for f in result.findings]
    assert result.sections.model_dump() == {"root_cause": True, "corrective_actions": True, "preventive_measures": True}
    assert (result.score, result.verdict) == (100, "ready")


def test_weak_lines_are_found_at_their_place():
    text = STRONG.replace(
        "We respectfully request", "We will try our best to ship faster. Please give us one more chance. We respectfully request"
    )
    result = critique(text)
    _spans_exact(text, result)
    by_rule = {f.rule: f for f in result.findings}
    assert by_rule["vague.best-effort"].quote == "We will try our best to ship faster"
    assert by_rule["emotional_appeal.begging"].quote == "Please give us one more chance"
    assert result.verdict == "needs_work"


def test_carrier_named_in_an_owned_root_cause_is_not_blame():
    assert not [f for f in critique(STRONG).findings if f.category == "blame_shifting"]
    blamed = critique(STRONG.replace("We did not compare the setting with the pickup schedule.", "The carrier was late."))
    assert [f.quote for f in blamed.findings if f.category == "blame_shifting"] == ["The carrier was late"]


@pytest.mark.parametrize(
    "headings",
    [
        ("Root Cause", "Corrective Actions", "Preventive Measures"),
        ("What went wrong", "Steps we have taken", "How we will prevent this"),
        ("1. What caused the issue?", "2. What have we already done?", "3. How will we prevent it in the future?"),
        ("**Root cause:**", "**Actions taken:**", "**Prevention:**"),
        ("根本原因：", "整改措施：", "预防措施："),
        ("I. The root cause of the problem", "II. Measures already completed", "III. Preventive measures"),
        ("First, the reason of the problem:", "Second, the measures we have taken:", "Third, the measures for the future:"),
        ("PART A — Why it happened", "PART B — What has been done", "PART C — How we prevent recurrence"),
        ("WHAT WENT WRONG", "WHAT I'VE ALREADY FIXED", "HOW IT STAYS FIXED"),
        ("Why it happened", "What we've done", "How we'll prevent it"),
        ("1. What caused the issue?", "2. What actions have already been taken?", "3. What will prevent this from happening again?"),
        ("<h2>Root cause</h2>", "<h2>Actions completed</h2>", "<h2>Next steps</h2>"),
        ("Cause:", "Actions done:", "Prevent in future:"),
        ("## 1. Root cause", "## 2. Corrective actions taken", "## 3. Preventive measures"),
        ("One, the reason of the problem", "Two, the corrective measures already completed", "Three, the preventive measures"),
        ("Reason:", "Rectification measures:", "Future:"),
        ("Why it happen:", "What we do:", "Future:"),
        ("Why it happen:", "What we did:", "Next time:"),
        ("【Root Cause】", "【Corrective actions we already took】", "【Preventive measures】"),
        ("Cause", "Fixed so far", "Stopping it happening again"),
        ("First, the problem reasons:", "Second, our improvement measures have been taken:", "Third, the future plan:"),
        ("1. Circumstances.", "2. Remedial Measures.", "3. Undertakings."),
        ("Cause", "Fix", "Prevention"),
        ("What went wrong", "What we fixed", "What we have put in place"),
    ],
)
def test_sections_recognised_whatever_the_headings(headings):
    body = [
        "Our handling time was set to 1 day, which our carrier could not meet.",
        "On 2026-03-15 we changed the handling time to 2 days for all 212 SKUs.",
        "Every Monday our warehouse lead checks the late shipment report.",
    ]
    text = "\n".join(f"{h}\n{b}\n" for h, b in zip(headings, body))
    _assert_all_three_parts(critique(text))


def test_a_numbered_item_of_the_open_part_is_content_not_a_heading():
    # "3. Better carrier in future." reads like a dotted preventive heading, but under PREVENTIVE
    # MEASURES it is one of that part's items, and a weak one.
    text = ("SECTION 1 - ROOT CAUSE\nOur handling time was set to 1 day.\n\nSECTION 2 - CORRECTIVE ACTIONS\n"
            "1. On 2026-03-15 we set it to 2 days for all 212 SKUs.\n\nSECTION 3 - PREVENTIVE MEASURES\n"
            "1. Every Monday our warehouse lead checks the late shipment report.\n2. Better carrier in future.\n")
    result = critique(text)
    assert [s.name for s in result.section_spans] == ["root_cause", "corrective_actions", "preventive_measures"]
    assert "Better carrier in future" in [f.quote for f in result.findings if f.category == "vague"]


def test_untensed_action_heading_takes_its_place_from_its_neighbours():
    body = "Our handling time was set to 1 day.\n"
    before_prevention = critique(f"Why it happened:\n{body}What we will do:\nWe will remove the listing.\n"
                                 "To stop it again:\nEvery Monday our warehouse lead checks it.\n")
    assert [s.name for s in before_prevention.section_spans] == ["root_cause", "corrective_actions", "preventive_measures"]
    assert [f.quote for f in before_prevention.findings if f.category == "future_only"] == ["We will remove the listing"]
    after_correction = critique(f"Root cause:\n{body}Actions taken:\nOn 2026-03-15 we set it to 2 days.\n"
                                "What we will do:\nEvery Monday our warehouse lead will check it.\n")
    assert [s.name for s in after_correction.section_spans] == ["root_cause", "corrective_actions", "preventive_measures"]


@pytest.mark.parametrize(
    "heading, section",
    [
        ("Steps we took:", "corrective_actions"),
        ("About what we do now:", "corrective_actions"),
        ("Two. Already taken measures", "corrective_actions"),
        ("How we keep it not happen again:", "preventive_measures"),
        ("Looking ahead so it never recurs", "preventive_measures"),
        ("Where it went wrong", "root_cause"),
        ("The problem in short:", "root_cause"),
    ],
)
def test_heading_no_pattern_names_is_read_by_its_words(heading, section):
    text = f"{heading}\nOn 2026-03-15 we changed the handling time to 2 days for all 212 SKUs.\n"
    assert [s.name for s in critique(text).section_spans] == [section]


@pytest.mark.parametrize(
    "line",
    ["- Removed the listing", "We fixed it", "Plan of Action - Related Account Deactivation", "Sent from my iPhone", "Already done.",
     "Prevention is better than cure.", "Ongoing monitoring of all customer messages to keep it compliant"],
)
def test_lines_that_only_look_like_headings_are_not_sections(line):
    assert not critique(f"{line}\nOn 2026-03-15 we changed the handling time to 2 days.\n").section_spans


def test_promises_under_an_untensed_heading_before_a_going_forward_paragraph_are_future_only():
    text = (
        "Root cause: 15 orders went with a non-tracked service.\nWhat we will do:\nWe will switch all orders to tracked shipping.\n"
        "We will print SKU labels for every bin.\nGoing forward we will monitor our metrics every Monday.\n"
    )
    result = critique(text)
    assert [s.name for s in result.section_spans] == ["root_cause", "corrective_actions", "preventive_measures"]
    assert [f.quote for f in result.findings if f.category == "future_only"] == [
        "We will switch all orders to tracked shipping", "We will print SKU labels for every bin"]


def test_empty_numbering_on_one_line_is_no_content():
    text = STRONG.split("Corrective Actions")[0] + "Corrective Actions: 1. 2. 3.\n\nPreventive Measures\n" + STRONG.split("Preventive Measures\n")[1]
    assert [f.rule for f in critique(text).findings if f.category == "missing_section"] == ["missing_section.corrective_actions"]


def test_third_party_blame_is_structural_and_ownership_clears_it():
    blamed = STRONG.replace("We did not compare the setting with the pickup schedule.",
                            "Our wholesaler assured us the pickup times were fine, so the problem is really with them.")
    assert [f.rule for f in critique(blamed).findings if f.category == "blame_shifting"]
    owned = STRONG.replace("We did not compare the setting with the pickup schedule.",
                           "Our courier collected late, but we did not compare its pickup time with our setting.")
    assert not [f for f in critique(owned).findings if f.category == "blame_shifting"]


def test_inline_headings():
    text = (
        "Root cause: our handling time was set to 1 day.\nActions taken: on 2026-03-15 we set it to 2 days.\n"
        "Prevention: every Monday our warehouse lead checks it."
    )
    assert all(critique(text).sections.model_dump().values())


def test_inline_heading_opening_a_long_paragraph():
    cause = "Root cause: we hired a marketing agency in January 2026 and did not check how it asked for reviews; " * 2
    text = cause + "\nCorrective actions:\nOn 2026-03-02 we ended the contract.\nPreventive measures:\nEvery Monday our manager checks it.\n"
    assert critique(text).sections.root_cause


def test_owned_cause_before_the_first_heading_is_a_root_cause():
    # Headings only for the actions; the cause is told under a question the headings do not name.
    text = (
        "Q1: What is the relationship between the accounts?\nIn December 2025 our assistant logged in from a shared laptop. "
        "We did not have a rule about which devices may access our account. This is the cause of the link.\n\n"
        "Q2: What have you done to remove the link?\n1. On 2026-03-01 we moved to our own office (lease attached).\n\n"
        "Q3: What will you do to make sure this does not happen again?\n1. Every Friday Mr. Sun Hao checks the login history.\n"
    )
    result = critique(text)
    assert not [f for f in result.findings if f.category in ("missing_section", "vague")], result.findings
    restated = text.replace("We did not have a rule about which devices may access our account. This is the cause of the link.", "")
    assert [f.rule for f in critique(restated).findings if f.category == "missing_section"] == ["missing_section.root_cause"]


def test_cause_put_on_a_carrier_is_reported_as_blame_not_as_a_missing_root_cause():
    actions = ("\nCorrective actions:\nOn 2026-03-16 we refunded the 14 late orders (refund report, Attachment 2).\n"
               "Preventive measures:\nEvery Monday our warehouse lead Wang Fang checks the late-shipment report.\n")
    blamed = critique("The courier lost the parcels, it is not our fault." + actions)
    assert blamed.sections.root_cause
    assert {f.category for f in blamed.findings} >= {"blame_shifting"}
    assert not [f for f in blamed.findings if f.category == "missing_section"]
    # Disputing the notice gives no cause: the root cause is still missing.
    disputed = critique("Amazon made a mistake in this decision, this is unfair." + actions)
    assert [f for f in disputed.findings if f.category == "blame_shifting"]
    assert [f.rule for f in disputed.findings if f.category == "missing_section"] == ["missing_section.root_cause"]


def test_root_cause_that_only_restates_the_notice_is_missing():
    actions = ("\nCorrective Actions\nOn 2026-03-16 we removed all 212 expired units (removal order 7LkP3vQz).\n"
               "Preventive Measures\nEvery Monday our warehouse lead Wang Fang checks the expiry report.\n")
    restated = critique("Root Cause\nThe root cause is that customers received products that were expired." + actions)
    assert {f.rule for f in restated.findings} >= {"vague.restated-notice", "missing_section.root_cause"}
    assert restated.sections.root_cause is False
    owned = critique("Root Cause\nOur returns SOP had no expiry check, so 212 expired units stayed in sellable stock." + actions)
    assert owned.sections.root_cause and not [f for f in owned.findings if f.category == "missing_section"]


def test_heading_with_nothing_under_it_is_missing():
    text = STRONG.split("Preventive Measures")[0] + "Preventive Measures\n1.\n2.\n\nWang Fang, Warehouse Lead\n"
    result = critique(text)
    missing = [f for f in result.findings if f.category == "missing_section"]
    assert [(f.rule, f.quote) for f in missing] == [("missing_section.preventive_measures", "Preventive Measures")]
    assert result.sections.preventive_measures is False
    assert result.verdict == "not_ready"
    assert {f.quote for f in result.findings if f.rule == "placeholder.empty-item"} == {"1.", "2."}


def test_missing_sections_are_whole_letter_findings():
    text = "We are sorry about the late shipments. We have fixed the problem and it will not happen again."
    result = critique(text)
    missing = {f.rule for f in result.findings if f.category == "missing_section"}
    assert missing == {"missing_section.root_cause", "missing_section.preventive_measures"}
    assert all((f.start, f.end, f.quote) == (0, 0, "") for f in result.findings if f.category in ("missing_section", "length"))


def test_letter_without_headings_is_judged_by_content():
    text = (
        "Our late shipments happened because our handling time was set to 1 day. "
        "On 2026-03-15 we changed it to 2 days for all 212 SKUs (screenshot attached). "
        "From now on our warehouse lead checks the late shipment report every Monday."
    )
    assert all(critique(text).sections.model_dump().values())
    # A metric that "went over" a limit is the cause, not an action; a routine at a set frequency is prevention.
    text = (
        "Our ODR went over 1% because we packed the tins in thin paper mailers.\n"
        "On 11 March 2026 we went back to bubble mailers (invoice HZ-PK-0311 attached).\n"
        "Ms. Xu Min checks negative feedback every day at 10:00."
    )
    assert all(critique(text).sections.model_dump().values())


def test_letter_with_only_a_paragraph_cue_is_judged_by_content():
    # "Going forward," marks the preventive part; the other two are found by what the sentences say.
    text = (
        "I read each of the 22 defect orders. In November we switched to a cheaper base and we did not run a "
        "dishwasher test before approving it.\n\n"
        "On 15 February we stopped selling the bowl and created removal order 4TK7WQ2M8B for the 640 units at FBA.\n\n"
        "Going forward, every component change requires a 20-cycle dishwasher test that I sign before approval."
    )
    _assert_all_three_parts(critique(text))


def test_corrective_items_written_as_instructions_are_promises():
    text = STRONG.split("Corrective Actions")[0] + (
        "Corrective Actions\n1. Remove the listing.\n2. Refund the buyers.\n\nPreventive Measures" + STRONG.split("Preventive Measures")[1]
    )
    found = [f.quote for f in critique(text).findings if f.category == "future_only"]
    assert found == ["Remove the listing", "Refund the buyers"]


def test_third_party_made_the_cause_by_a_link_before_it():
    for line in ("The late deliveries were mainly due to the courier during the holiday season.",
                 "Some of the boxes had been opened and resealed by the liquidator before we received them."):
        text = STRONG.replace("We did not compare the setting with the pickup schedule.", line)
        assert [f.quote for f in critique(text).findings if f.category == "blame_shifting"] == [line.rstrip(".")]
    neutral = STRONG.replace("We did not compare the setting with the pickup schedule.",
                             "The listing was removed due to Amazon's policy on delivery promises.")
    assert not [f for f in critique(neutral).findings if f.category == "blame_shifting"]


def test_neutral_third_party_fact_owned_in_the_same_paragraph_is_not_blame():
    fact = "Our manufacturer changed the supplier of the thermal fuse in October 2025 for lot HS-2510."
    owned = STRONG.replace("We did not compare the setting with the pickup schedule.",
                           fact + " We accepted the lot without retesting it.")
    assert not [f for f in critique(owned).findings if f.category == "blame_shifting"]
    alone = STRONG.replace("We did not compare the setting with the pickup schedule.", fact).replace(
        "We checked all 14 late orders", "\nThe 14 late orders")
    assert [f.quote for f in critique(alone).findings if f.category == "blame_shifting"] == [fact.rstrip(".")]


def test_passage_in_another_latin_language():
    text = STRONG.replace("We respectfully request", "Wir werden unsere Mitarbeiter besser schulen. We respectfully request")
    found = [f for f in critique(text).findings if f.category == "language"]
    assert [(f.rule, f.quote) for f in found] == [("language.foreign-latin", "Wir werden unsere Mitarbeiter besser schulen")]
    assert not [f for f in critique(STRONG).findings if f.category == "language"]


def test_letter_in_spanish_is_one_whole_letter_finding():
    text = (
        "Causa raíz: el tiempo de preparación estaba configurado en 1 día y el transportista necesita 2 días.\n"
        "Acciones correctivas: el 16 de marzo de 2026 cambiamos el tiempo de preparación a 2 días para todos los productos.\n"
        "Medidas preventivas: el jefe del almacén revisa la configuración todos los lunes y lo anota en el registro."
    )
    found = [f for f in critique(text).findings if f.category == "language"]
    assert [f.rule for f in found] == ["language.not-english"]


def test_placeholders_are_quoted_exactly():
    text = STRONG.replace("Wang Fang, Warehouse Lead\n", "[Your Name]\n").replace("on 2026-03-14", "on XXX")
    quotes = [f.quote for f in critique(text).findings if f.category == "placeholder"]
    assert quotes == ["XXX", "[Your Name]"]


def test_html_pasted_from_email_keeps_offsets():
    html = (
        "<html><body><p><b>Root cause:</b> our handling time was set to 1 day.</p>"
        "<p><b>Corrective actions:</b></p><ul><li>We have trained our staff.</li></ul>"
        "<p><b>Preventive measures:</b></p><p>We will do our best&nbsp;to ship on time.</p></body></html>"
    )
    result = critique(html)
    _spans_exact(html, result)
    quotes = {f.rule: f.quote for f in result.findings}
    assert quotes["missing_evidence.unverified-action"] == "We have trained our staff"
    assert quotes["vague.best-effort"] == "We will do our best&nbsp;to ship on time"
    assert all(result.sections.model_dump().values())


def test_chinese_text_left_in_an_english_letter():
    text = STRONG.replace("We respectfully request", "这里以后再改。 We respectfully request")
    found = [f for f in critique(text).findings if f.category == "language"]
    assert [(f.rule, f.quote) for f in found] == [("language.foreign-passage", "这里以后再改。")]


def test_chinese_headings_over_english_text_are_no_foreign_passage():
    text = STRONG.replace("Root Cause\n", "根本原因\n").replace("Corrective Actions\n", "整改措施\n").replace("Preventive Measures\n", "预防措施\n")
    assert not [f for f in critique(text).findings if f.category == "language"]
    mixed = text.replace("We respectfully request", "这里以后再改。 We respectfully request")
    assert {f.quote for f in critique(mixed).findings if f.category == "language"} == {"根本原因", "整改措施", "预防措施", "这里以后再改。"}


def test_a_table_header_row_is_not_a_heading():
    # "Action | Date | Evidence" under "ACTIONS ALREADY TAKEN" heads the columns, not a new part.
    text = (
        "SECTION 1 - ROOT CAUSE\nOur grading guide did not say how many pages to check, so one grader's errors went out unreviewed.\n\n"
        "SECTION 2 - ACTIONS ALREADY TAKEN (with dates)\nAction | Date | Evidence\n"
        "Regraded all 412 books she listed; 61 downgraded | 17-20 Jan 2025 | Regrade log (Exhibit 1)\n\n"
        "SECTION 3 - PREVENTIVE MEASURES\nMeasure | Owner | Frequency\n"
        "Supervisor re-checks 100% of a new grader's books for 30 days | Li Na | daily\n"
    )
    result = critique(text)
    _assert_all_three_parts(result)
    assert [s.name for s in result.section_spans] == ["root_cause", "corrective_actions", "preventive_measures"]


def test_mail_header_and_signature_are_not_reported_actions():
    text = ("From: service@example.com\nSubject: Appeal\n\nCorrective actions:\nOn 2026-03-15 we removed the 3 ASINs (Attachment 1).\n"
            "\n--\nKevin Li\nSent from my iPhone\n")
    assert not [f for f in critique(text).findings if f.category == "missing_evidence"]


@pytest.mark.parametrize("device", ["Sent with Outlook for Web", "Sent from Mail for Windows", "Sent via Gmail mobile"])
def test_mail_client_lines_end_the_letter(device):
    text = f"Corrective actions:\nOn 2026-03-15 we removed the 3 ASINs (Attachment 1).\n\nKevin Li\n{device}\n"
    assert not [f for f in critique(text).findings if f.category == "missing_evidence"]
    # A line of the letter that starts the same way is still read.
    kept = "Corrective actions:\nSent from the warehouse the replacements.\n"
    assert [f for f in critique(kept).findings if f.category == "missing_evidence"]


def test_letter_in_chinese_is_one_whole_letter_finding():
    text = "根本原因：我们的处理时间设置为1天，但是承运商需要2天。\n整改措施：2026年3月16日我们把处理时间改为2天。\n预防措施：仓库主管每周一检查设置。"
    found = [f for f in critique(text).findings if f.category == "language"]
    assert [f.rule for f in found] == ["language.not-english"]


def test_score_is_deterministic_and_explained():
    text = STRONG.replace("We respectfully request", "We will pay more attention. We beg you. We respectfully request")
    first, second = critique(text), critique(text)
    assert first == second
    assert first.score == 100 - sum(d.points for d in first.deductions)
    assert sum(d.count for d in first.deductions) == len(first.findings)
    assert {d.rule for d in first.deductions} == {f.rule for f in first.findings}


def test_repeated_findings_of_one_rule_are_capped():
    line = "We will do our best.\n"
    text = STRONG.replace("We respectfully request", line * 10 + "We respectfully request")
    result = critique(text)
    best = [d for d in result.deductions if d.rule == "vague.best-effort"][0]
    assert best.count == 10 and best.points == 36


def test_verdicts():
    assert critique(STRONG).verdict == "ready"
    assert critique(STRONG.replace("Wang Fang, Warehouse Lead", "[Your Name]")).verdict == "not_ready"
    weak = STRONG.replace("We respectfully request", "We will improve our service. We respectfully request")
    assert critique(weak).verdict in ("ready", "needs_work")
    assert critique(weak).score < 100


def test_every_dev_letter_gives_exact_spans(root, cached_critique):
    for path in sorted((root / "evals" / "critic").glob("*.toml")):
        for item in load_letters(path):
            _spans_exact(item.text, cached_critique(item.text))


def test_critique_rejects_non_text():
    with pytest.raises(TypeError):
        critique(b"bytes")  # type: ignore[arg-type]


def test_preload_from_several_threads_loads_once_and_all_wait_for_it(monkeypatch):
    import threading
    import time

    import pipeline

    calls = []

    def slow_critique(text):
        calls.append(text)
        time.sleep(0.2)  # a load in progress while the other threads arrive

    monkeypatch.setattr(pipeline, "critique", slow_critique)
    monkeypatch.setattr(pipeline, "_preloaded", threading.Event())
    finished = []
    threads = [threading.Thread(target=lambda: (pipeline.preload(), finished.append(len(calls)))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert finished == [1, 1, 1, 1]  # none returned before the load was done
    pipeline.preload()
    assert len(calls) == 1


@pytest.mark.parametrize(
    "text, sections",
    [
        ("2. Root cause. Our listing procedure had no trademark check.\n3. Corrective actions completed.\n"
         "(a) On 2026-03-03 we deleted the listing.\n4. Preventive measures.\n(a) Our coordinator checks every listing.\n",
         ["root_cause", "corrective_actions", "preventive_measures"]),
        ("1. Background and Cause\nA shared office network linked the two accounts.\n",
         ["root_cause"]),
        ("STEPS WE HAVE TAKEN TO PREVENT THE ISSUE IN THE FUTURE:\nOur lead checks the tracking report every Monday.\n",
         ["preventive_measures"]),
        ("What we have do:\nWe refunded the 14 buyers on 2026-03-16.\n", ["corrective_actions"]),
        ("Root cause: our repricer had no maximum price.\nActions: we fixed the repricer and refunded customers.\n",
         ["root_cause", "corrective_actions"]),
        # Bold numbered headings, as a chat assistant writes them.
        ("**1. Root Cause**\n\nOur carton was too weak.\n\n**2. Corrective Actions Taken**\n\n- On 4 June 2026 we paused it.\n",
         ["root_cause", "corrective_actions"]),
        # A heading set off by a dash, with its text on the same line.
        ("WHAT I'VE DONE\nWe refunded all 12 buyers on 2026-03-02.\nNext steps - I'll check the feedback every week.\n",
         ["corrective_actions", "preventive_measures"]),
        # Labelled items under a section heading are items, not headings.
        ("SECTION 2 - CORRECTIVE ACTIONS (COMPLETED)\nAction 2.1 - 8 May 2026: the sync interval changed to 15 minutes.\n"
         "SECTION 3 - PREVENTIVE MEASURES\nMeasure 3.1: each morning our lead counts the top 20 SKUs.\n",
         ["corrective_actions", "preventive_measures"]),
        # Emoji and symbols before the heading words, as chat assistants and templates decorate them.
        ("**🔎 Root Cause**\n\n- Our checklist had no cosmetic step.\n\n**✅ Corrective Actions Taken**\n\n"
         "- On 28 May 2026 we re-inspected 96 units.\n\n**🛡️ Preventive Measures**\n\n- A second technician checks 1 in 10.\n",
         ["root_cause", "corrective_actions", "preventive_measures"]),
        ("➤ Root cause\nOur handling time was 1 day.\n★ Actions taken ★\nOn 2026-03-15 we set it to 2 days.\n",
         ["root_cause", "corrective_actions"]),
        # Unnumbered headings closed by a full stop, as a lawyer or a careful writer sets them.
        ("Root cause. Our listing procedure had no trademark check.\n\nCorrective actions already taken. On 2026-03-03 "
         "we deleted the listing.\n\nPreventive measures. Our coordinator checks every listing.\n",
         ["root_cause", "corrective_actions", "preventive_measures"]),
        ("Root cause. I reviewed all 14 orders; my listing was wrong.\n\nWhat I have already done.\n- 8 May 2026: "
         "rewrote the listing.\n\nGoing forward.\nEvery new listing gets a fitment check.\n",
         ["root_cause", "corrective_actions", "preventive_measures"]),
        # What keeps a fix in place, or the fault away, heads the preventive part.
        ("Root cause\nOur printer was not connected.\nWhat we did\n- On 15 July we reconnected it.\n"
         "What will keep it fixed\n- Every morning Carla checks the report.\n",
         ["root_cause", "corrective_actions", "preventive_measures"]),
        ("1. What happened\nOur title used a brand name.\n2. What we have already done\nOn 22 February 2026 we removed it.\n"
         "3. Stopping it from coming back\nEvery new listing passes a trademark check.\n",
         ["root_cause", "corrective_actions", "preventive_measures"]),
        ("Where things went sideways\nOur courier's numbers did not validate.\nWhat we have put right\n"
         "On 3 May 2024 we re-uploaded 137 tracking numbers.\nKeeping it from coming back\nEvery order goes through Buy Shipping.\n",
         ["root_cause", "corrective_actions", "preventive_measures"]),
        # A template's headings with its questions left after them, under the template's own title.
        ("AMAZON PLAN OF ACTION – TEMPLATE (completed)\nSECTION 1 – ROOT CAUSE (What caused the issue?)\nOur insert "
         "offered a gift card.\nSECTION 2 – CORRECTIVE ACTIONS (What have you already done?)\nOn 2 July 2024 we destroyed "
         "all 1,200 inserts.\nSECTION 3 – PREVENTIVE MEASURES (How will you prevent it happening again?)\nOlivia checks "
         "every insert before printing.\n",
         ["root_cause", "corrective_actions", "preventive_measures"]),
        # A Chinese heading with its English in brackets.
        ("一、根本原因 (Root cause)\nOur spec sheet was for the old model.\n二、已完成的整改 (Corrective actions completed)\n"
         "- 9 April 2025: closed the listing.\n三、预防措施 (Preventive measures)\n- Wang Qiang tests 5 units of every batch.\n",
         ["root_cause", "corrective_actions", "preventive_measures"]),
        # A standing practice after the part of what was done.
        ("What went wrong\nMy final check was visual.\nWhat I have already done\n- August 3: re-sanded 37 sets.\n"
         "What I do now on every batch\n- Each arch gets a glove test.\n",
         ["root_cause", "corrective_actions", "preventive_measures"]),
    ],
)
def test_headings_as_sellers_write_them(text, sections):
    assert [s.name for s in critique(text).section_spans] == sections


def test_numbered_steps_under_a_heading_are_items_not_headings():
    text = ("Root cause: we did not ask for an authorization letter.\nCorrective Actions We Have Taken\n"
            "- Step 1: We removed the item from our inventory.\n- Step 2: We contacted the supplier.\n"
            "Preventive Measures\nOur buyer checks each distributor against the brand's list every month.\n")
    assert [s.name for s in critique(text).section_spans] == ["root_cause", "corrective_actions", "preventive_measures"]
    assert not [f for f in critique(text).findings if f.category == "missing_section"]


def test_the_same_inline_heading_on_each_item_is_one_section_with_its_items():
    text = ("• Cause: the older units were shipped first\n• Action: all expired units removed\n"
            "• Action: staff retrained on dates\n• Prevention: check dates more often\n• Prevention: buy shorter lots\n")
    spans = critique(text).section_spans
    assert [s.name for s in spans] == ["root_cause", "corrective_actions", "preventive_measures"]
    actions = next(s for s in spans if s.name == "corrective_actions")
    assert text[actions.body_start:actions.body_end].count("Action:") == 1  # the second item is inside
    assert not [f for f in critique(text).findings if f.category == "missing_section"]


def test_chinese_list_numbers_before_english_headings_are_no_foreign_passage():
    text = STRONG.replace("Root Cause\n", "一、Root Cause\n").replace("Corrective Actions\n", "二、Corrective Actions\n")
    assert "一、Root Cause" in text and not [f for f in critique(text).findings if f.category == "language"]


def test_terse_list_items_are_content_and_a_line_of_thanks_is_not():
    terse = ("Root cause: units past their date were sent.\nCorrective actions:\n* Checked the stock\n* Removed some units\n"
             "Preventive measures:\n* Monitor the reviews every week\n* Check dates on arrival\n")
    assert not [f for f in critique(terse).findings if f.category == "missing_section"]
    thanks = ("1. What caused the issue?\nWe used the brand name in our title.\n2. What actions have you taken?\n"
              "We deleted the word from the title on 2026-03-16.\n3. What steps have you taken to prevent this in the future?\n\n"
              "Thank you, please reinstate our listing, it is our best selling product.\n")
    assert [f.rule for f in critique(thanks).findings if f.category == "missing_section"] == ["missing_section.preventive_measures"]


def test_a_word_ending_in_one_ascii_letter_is_no_initial():
    # "atenção." ends in "o.", which must not read as an initial ("J. Smith") and join two sentences.
    from pipeline.critic import analyse

    letter = analyse("Vamos prestar mais atenção. We will check every day.")
    assert [letter.plain[s.start : s.end] for s in letter.sentences] == ["Vamos prestar mais atenção.", "We will check every day."]
    initial = analyse("Signed by J. Smith today.")
    assert [initial.plain[s.start : s.end] for s in initial.sentences] == ["Signed by J. Smith today."]
    # An identifier ending in a letter ends its sentence too: "removal order R7TQ2MX84L. We also ...".
    code = analyse("We created removal order R7TQ2MX84L. We also checked the rest of our stock.")
    assert [code.plain[s.start : s.end] for s in code.sentences] == [
        "We created removal order R7TQ2MX84L.", "We also checked the rest of our stock."]


def test_a_request_to_the_reviewer_under_a_heading_is_no_content():
    letter = ("Root Cause\nOur inspection missed used units.\nCorrective Actions\n- On 2026-05-02 we removed 14 units.\n"
              "- On 2026-05-03 we refunded 6 buyers.\nPreventive Measures\n-\n"
              "We kindly ask you to reconsider, as this ASIN is our best seller.\nRegards,\nNorvell Direct\n")
    assert critique(letter).sections.preventive_measures is False
    owned = letter.replace("-\nWe kindly", "- We ask our supplier for a sealed-unit photo before each shipment.\nWe kindly")
    assert critique(owned).sections.preventive_measures is True


def test_a_plea_or_a_wider_confession_under_a_heading_leaves_the_part_missing():
    head = ("Root Cause\nOur inspection missed used units.\nCorrective Actions\n- On 2026-05-02 we removed 14 units.\n"
            "- On 2026-05-03 we refunded 6 buyers.\nPreventive Measures\n")
    tail = ("To be honest, we also sold 2 other baskets from the same factory last year on this account.\n"
            "Please restore our listing, this product was 60% of our sales and we are losing money every day.\n"
            "Best regards,\nAria Home Store\n")
    result = critique(head + tail)
    assert result.sections.preventive_measures is False
    missing = [f for f in result.findings if f.rule == "missing_section.preventive_measures"]
    assert [f.quote for f in missing] == ["Preventive Measures"]
    assert "only a plea" in missing[0].message
    # The other findings on those lines stay: the section report is added, not a replacement.
    assert {"emotional_appeal", "over_admission"} <= {f.category for f in result.findings}
    # One written measure among them is the part, however weak the rest.
    measured = critique(head + "From 2026-05-04 our QA lead opens every returned unit before restock.\n" + tail)
    assert measured.sections.preventive_measures is True
    assert not [f for f in measured.findings if f.category == "missing_section"]


def test_a_template_instruction_under_a_heading_leaves_the_part_missing():
    tail = ("Section 2 - Corrective Actions:\na) On 2026-06-02 we moved all packing to our Reading warehouse; sample slips "
            "from orders 203-5512847-0091326 and 203-8830194-4417562 are attached.\n"
            "Section 3 - Preventive Measures:\na) From 2026-06-03 our warehouse lead Tom Hale checks every packing slip "
            "against the Seller Central order before dispatch.\nRegards,\nOakridge Trading Ltd\n")
    result = critique("Section 1 - Root Cause:\n(Explain the root cause here in 3-5 sentences)\n\n" + tail)
    assert result.sections.root_cause is False
    missing = [f for f in result.findings if f.rule == "missing_section.root_cause"]
    assert [f.quote for f in missing] == ["Section 1 - Root Cause:"] and "template text" in missing[0].message
    assert any(f.category == "placeholder" and f.quote.startswith("(Explain the root cause here") for f in result.findings)
    # A written cause with a slot left in it is the part, with the slot reported.
    slot = critique("Section 1 - Root Cause:\nOur packer used the retailer's slips from [date] because our own "
                    "printer was broken and nobody checked the slips before dispatch.\n\n" + tail)
    assert slot.sections.root_cause is True
    assert any(f.category == "placeholder" for f in slot.findings)


def test_a_cause_told_before_the_headings_is_the_root_cause_even_when_put_on_others():
    actions = ("\nWhat we did:\n- On 2026-06-10 we refunded the 9 buyers (refund report, Attachment 1).\n"
               "- On 2026-06-11 we added the size in inches to the title of ASIN B0C7K2M9QP.\n"
               "Going forward our listing lead checks every size chart before it is published.\n")
    headers = "From: sales@ridgewaysupply.com\nSubject: RE: ODR appeal\n\nHi team,\n\n"
    blamed = headers + "Most of the negative feedback came from buyers who did not read the product description." + actions
    result = critique(blamed)
    # Given, if put on the buyers: the blame is reported where it stands, not as a missing part.
    assert result.sections.root_cause is True
    assert not [f for f in result.findings if f.category == "missing_section"]
    assert any(f.category == "blame_shifting" for f in result.findings)
    # The notice's own words restated are no cause, and the part is reported missing, in both fields.
    restated = headers + "Our account was deactivated because it is related to another account." + actions
    result = critique(restated)
    assert result.sections.root_cause is False
    assert [f.rule for f in result.findings if f.category == "missing_section"] == ["missing_section.root_cause"]


def test_items_numbered_in_two_levels_are_read_from_their_first_word():
    """"3.2 We will ..." is item 2 of part 3: the sentence starts at "We", not at "2 We" (the "3." read
    as the number and the "2" as the sentence's first word)."""
    text = ("3. How we will prevent it\n3.1 We will respect intellectual property rights.\n"
            "3.2 We will be more careful when using images from the internet.\n")
    quotes = [f.quote for f in critique(text).findings if f.category == "vague"]
    assert quotes == ["We will respect intellectual property rights",
                      "We will be more careful when using images from the internet"]


def test_a_name_in_both_scripts_in_the_sign_off_is_not_a_foreign_passage():
    # The untranslated sentence and "谢谢" are reported; the shop's name after its English name is not.
    text = ("Root cause:\nOur handling time was set to 1 day for all 212 SKUs. 我们的仓库没有检查。\n\n"
            "Corrective actions:\nOn 2026-03-15 we set it to 2 days for all 212 SKUs.\n\n"
            "Preventive measures:\nEvery Monday our warehouse lead checks the late shipment report.\n\n"
            "Best regards,\n谢谢！\nLin Yu\nBamboo Craft Home 竹艺家居\n")
    quotes = [f.quote for f in critique(text).findings if f.rule == "language.foreign-passage"]
    assert quotes == ["我们的仓库没有检查。", "谢谢！"]


def test_a_quote_does_not_start_inside_markup():
    # The plain view blanks "<div>"; a match that reads those blanks from the line start must not
    # quote the tag: the finding quotes "Cordialement,", not "div>Cordialement,".
    text = ("<div>Root cause: our handling time was set to 1 day for all 212 SKUs.</div><div><br></div>"
            "<div>Cordialement,<br>Camille Laurent</div>")
    found = [f for f in critique(text).findings if f.rule == "language.foreign-courtesy"]
    assert [f.quote for f in found] == ["Cordialement,"]
    assert all(text[f.start:f.end] == f.quote for f in found)


def test_a_plea_above_the_sign_off_leaves_the_part_missing():
    head = ("First, the reason of the problem:\nOn 15 February 2025 our listing staff put 6 different products under "
            "one parent ASIN B0CT8KR2VZ.\nSecond, the corrective measures which already taken:\n1. On 12 March 2025 "
            "we deleted the variation relationship by flat file (batch ID 41120938577, attached).\n"
            "Third, the preventive measures:\n\n")
    plea = "We sincerely hope Amazon give us chance to correct mistake, we will cherish very much this opportunity.\n\n"
    signed = "Shenzhen Haoyun E-commerce Co., Ltd.\nOperations manager: Xu Ming\n"
    result = critique(head + plea + signed)
    assert result.sections.preventive_measures is False
    assert [f.quote for f in result.findings if f.rule == "missing_section.preventive_measures"] == ["Third, the preventive measures:"]
    # The sign-off is no part's body; a written measure above it is the part.
    text = head + "From 13 March 2025 our listing lead Xu Ming approves every new variation.\n\n" + signed
    measured = critique(text)
    assert measured.sections.preventive_measures is True
    span = [s for s in measured.section_spans if s.name == "preventive_measures"][0]
    assert text[span.body_start : span.body_end].strip() == "From 13 March 2025 our listing lead Xu Ming approves every new variation."


@pytest.mark.parametrize("line", ["3. Won't happen again.", "→ We will make sure it won't happen again", "i promise not happen again"])
def test_a_promise_on_a_line_of_its_own_is_no_heading(line):
    text = ("1. Root cause: a brand word ended up in the title.\n2. On 3 September 2025 we removed the word KORVEX from "
            f"the title of ASIN B0CR2VN7QK.\n{line}\n\nPls reactivate asap, sales are down.\n")
    assert "preventive_measures" not in [s.name for s in critique(text).section_spans]
    # Written as a question, it heads the part.
    assert "preventive_measures" in [s.name for s in critique(text.replace(line, "3. How will it not happen again?")).section_spans]


def test_a_letter_below_an_email_rule_line_is_read_as_the_letter():
    # An agency's note over Outlook's rule line, and the letter below it: the letter is checked, the
    # line itself is no blank to fill, and the note to the seller is reported.
    note = ("From: Appeals Team <cases@sellerrescuepro.com>\nSent: Thursday, October 17, 2024 4:02 PM\n"
            "Subject: FW: Draft POA\n\nHi Raj,\nPlease copy everything below the line into the appeal box. "
            "Don't change anything.\n" + "_" * 32 + "\n\n")
    letter = ("Dear Amazon Seller Performance Team,\n\nRoot Cause: The main image for ASIN B0CTM4Q9LH included a "
              "\"#1 Best Seller\" badge.\n\nImmediate Actions: On 16 October 2024 the main image was replaced. "
              "All other listings have been reviewed and updated as necessary.\n\nPreventive Measures: From 17 "
              "October 2024 our catalog lead approves every main image before upload.\n\nSincerely,\nRaj Patel\n")
    found = critique(note + letter).findings
    assert any(f.rule == "missing_evidence.unverified-action" and f.quote.startswith("All other listings") for f in found)
    assert not any(f.quote == "_" * 32 for f in found)
    assert any(f.rule == "placeholder.drafter-note" and f.quote.startswith("Please copy everything") for f in found)
    # Under a signature's rule line, the lines are the signature still: no claim is read there.
    signed = letter + "--\nWe have updated everything as necessary.\n"
    assert not any(f.quote.startswith("We have updated everything") for f in critique(signed).findings)


def test_the_business_named_in_both_scripts_on_its_own_line_is_not_a_foreign_passage():
    body = ("1. Root Cause 根本原因\nOn 1 April 2024 I wrote a message template with a link to our website and did "
            "not check it against the Communication Guidelines.\n\n2. Corrective Actions 整改措施\n- 19 April 2024: I "
            "deleted the template from Manage Templates (screenshot attached).\n\n3. Preventive Measures 预防措施\n- "
            "From 20 April 2024 every new template is approved by me before use.\n")
    named = "Dear Seller Performance Team,\n\nStore: Kaitong Outdoor 凯通户外 | Merchant Token A1W6C9RZ2KQ8T0\n\n"
    assert not [f for f in critique(named + body).findings if f.category == "language"]
    # The same characters as a sentence of the letter are Chinese the reviewer must read, and then the
    # Chinese headings are part of it.
    told = named.replace("Store: Kaitong Outdoor 凯通户外", "We are 凯通户外")
    assert "凯通户外" in [f.quote for f in critique(told + body).findings if f.category == "language"]


def test_a_dispute_of_the_notice_under_a_heading_leaves_the_part_missing():
    head = ("Root cause:\nOur listing used the kettle design from our supplier's catalogue without a patent search.\n"
            "Corrective actions:\nOn 2026-03-02 we closed the offer on ASIN B0C1KTL9XX (screenshot attached).\n"
            "Preventive measures:\n")
    disputed = critique(head + "We think this decision is unfair because we have sold this kettle for 2 years with 4.6 stars.\n")
    assert disputed.sections.preventive_measures is False
    assert any(f.category == "blame_shifting" for f in disputed.findings)  # reported where it stands too
    measured = critique(head + "From 2026-03-03 our sourcing lead orders a patent search before any new listing.\n")
    assert measured.sections.preventive_measures is True


def test_a_name_in_brackets_beside_its_pinyin_in_one_word_is_not_a_foreign_passage():
    text = ("Root cause:\nOur ERP (Mabang 马帮) uploaded the 4PX tracking numbers 2 days late for all 7 orders.\n"
            "Corrective actions:\nOn 2026-03-02 we set the upload to run every hour.\n"
            "Preventive measures:\nEvery Monday our shipping lead checks the upload log.\n")
    assert not [f for f in critique(text).findings if f.category == "language"]
    # A word that only looks like pinyin outside brackets is no gloss: "我们是 Sunrise ..." stays Chinese.
    told = text.replace("Our ERP (Mabang 马帮)", "我们是 Sunrise Store, our ERP")
    assert "我们是" in [f.quote for f in critique(told).findings if f.category == "language"]


def test_a_company_glossed_by_its_english_name_is_not_a_foreign_passage():
    text = ("一、根本原因 Root Cause\nOur ERP uploaded the 4PX tracking numbers 2 days late for all 7 orders.\n"
            "二、整改措施 Corrective actions\nOn 2026-03-02 we set the upload to run every hour.\n"
            "三、预防措施 Preventive measures\nEvery Monday our shipping lead checks the upload log.\n\n"
            "深圳市博远电子有限公司 (Shenzhen BoYuan Electronics Co., Ltd.)\n")
    assert not [f for f in critique(text).findings if f.category == "language"]
    # A sentence glossed the same way is still Chinese the reviewer must read past.
    told = text.replace("深圳市博远电子有限公司", "我们已经检查了所有的订单")
    assert [f for f in critique(told).findings if f.category == "language"]
