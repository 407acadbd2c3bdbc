"""The page, run in-process with Streamlit's AppTest: both workflows, the case store, bad input."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
NOTICE = (
    "Hello,\n\nWe are reaching out because your Order Defect Rate is 2.35% (target: under 1%).\n"
    "ASIN: B07PQRS123\nOrder ID: 112-3344556-7788990\n\nPlease send a plan of action within 17 days.\n"
)
WEAK = (
    "Root cause:\nThe carrier was late.\nCorrective actions:\nWe have trained our staff.\n"
    "Preventive measures:\nWe will do our best.\n"
)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("POA_HOME", str(tmp_path / "poa-home"))
    return tmp_path / "poa-home"


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def new_app() -> AppTest:
    return run(AppTest.from_file(APP, default_timeout=60))


def click(at: AppTest, widget) -> AppTest:
    widget.click()
    return run(at)


def submit_facts(at: AppTest) -> AppTest:
    return click(at, next(b for b in at.button if "facts_form" in (b.key or "")))


def test_draft_from_a_notice_end_to_end(home):
    at = new_app()
    at.text_area(key="poa.notice_text").set_value(NOTICE)
    click(at, at.button(key="poa.read"))
    assert next(w for w in at.selectbox if w.key.startswith("poa.violation.")).value == "order_defect_rate"
    assert next(w for w in at.text_input if w.key.startswith("poa.asins.")).value == "B07PQRS123"
    slot = next(w for w in at.text_input if (w.key or "").startswith("poa.slot."))
    slot.set_value("2026-03-16")
    at.text_input(key="poa.signer").set_value("Wang Fang, Operations Manager")
    submit_facts(at)
    letter = next(w for w in at.text_area if (w.key or "").startswith("poa.edit."))
    assert "B07PQRS123" in letter.value and "Wang Fang, Operations Manager" in letter.value
    assert "2026-03-16" in letter.value
    assert any("poa-finding" in m.value for m in at.html), "the review highlights findings in place"
    assert {m.label for m in at.metric} >= {"Readiness", "Verdict", "Findings", "Version"}

    # Edit a line and re-check: a second version, re-scored.
    letter.set_value(letter.value.replace("[store name]", "Acme Home Store"))
    recheck = next(b for b in at.button if (b.key or "").startswith("poa.recheck."))
    click(at, recheck)
    assert next(m for m in at.metric if m.label == "Version").value == "v2"
    labels = {b.label for b in at.get("download_button")}
    assert {".txt", ".md", ".docx"} <= labels


def test_critique_a_letter(home):
    at = new_app()
    at.text_area(key="poa.letter_text").set_value(WEAK)
    click(at, at.button(key="poa.check"))
    verdict = next(m for m in at.metric if m.label == "Verdict").value
    assert verdict in ("needs work", "not ready")
    titles = [e.label for e in at.expander]
    assert any("blame-shifting" in t and "The carrier was late" in t for t in titles)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("   \n ", "Nothing to check"),
        ("x" * 1_000_001, "too long"),
        ("\x00\x01\x02 binary \x03\x04" * 50, "does not look like text"),
    ],
)
def test_bad_input_gets_a_clear_message_and_the_app_keeps_running(home, text, expected):
    at = new_app()
    at.text_area(key="poa.letter_text").set_value(text)
    click(at, at.button(key="poa.check"))
    assert any(expected in e.value for e in at.error)
    at.text_area(key="poa.notice_text").set_value(text)
    click(at, at.button(key="poa.read"))
    assert any(expected in e.value for e in at.error)


def test_html_letter_is_reviewed(home):
    at = new_app()
    at.text_area(key="poa.letter_text").set_value("<p><b>Root cause:</b> we will do our best.</p>")
    click(at, at.button(key="poa.check"))
    assert any("poa-finding" in m.value for m in at.html)


def test_cases_survive_a_new_session_and_reopen(home):
    at = new_app()
    at.text_area(key="poa.letter_text").set_value(WEAK)
    click(at, at.button(key="poa.check"))
    # The case on the page is marked open (a version count there would lag after a re-check).
    assert next(b for b in at.button if (b.key or "").startswith("poa.open.")).label.endswith("· open now")
    again = new_app()  # a new browser session: nothing in memory
    opener = next(b for b in again.button if (b.key or "").startswith("poa.open."))
    assert opener.label.endswith("· v1")
    click(again, opener)
    assert again.text_area(key="poa.letter_text").value == WEAK
    assert any("poa-finding" in m.value for m in again.html)
    assert next(b for b in again.button if (b.key or "").startswith("poa.open.")).label.endswith("· open now")


def test_a_paste_and_an_edit_not_yet_checked_survive_a_new_session(home):
    at = new_app()
    at.text_area(key="poa.letter_text").set_value(WEAK)
    run(at)  # the paste is committed, never checked
    again = new_app()  # a refresh: a new session
    click(again, next(b for b in again.button if (b.key or "").startswith("poa.open.")))
    assert again.text_area(key="poa.letter_text").value == WEAK
    click(again, again.button(key="poa.check"))
    edit_box = next(t for t in again.text_area if (t.key or "").startswith("poa.edit."))
    edit_box.set_value(WEAK + "Signed: Wang Fang, Operations Manager\n")
    run(again)  # edited, not re-checked
    third = new_app()
    click(third, next(b for b in third.button if (b.key or "").startswith("poa.open.")))
    restored = next(t for t in third.text_area if (t.key or "").startswith("poa.edit."))
    assert restored.value == WEAK + "Signed: Wang Fang, Operations Manager\n"
    assert any("edits since the last check were kept" in m.value for m in third.info)
    assert next(m for m in third.metric if m.label == "Version").value == "v1"  # kept, not yet a version


def test_delete_a_case(home):
    at = new_app()
    at.text_area(key="poa.letter_text").set_value(WEAK)
    click(at, at.button(key="poa.check"))
    deleter = next(b for b in at.button if (b.key or "").startswith("poa.delete."))
    click(at, deleter)
    assert not [b for b in at.button if (b.key or "").startswith("poa.open.")]


def test_chinese_interface_keeps_the_letter_english(home):
    at = new_app()
    at.radio(key="poa.lang").set_value("zh")
    run(at)
    assert at.title[0].value.startswith("申诉")
    at.text_area(key="poa.letter_text").set_value(WEAK)
    click(at, at.button(key="poa.check"))
    assert any("推卸责任" in e.label for e in at.expander)


def test_damaged_case_database_is_reported_not_fatal(home):
    home.mkdir(parents=True)
    (home / "cases.sqlite3").write_bytes(b"garbage" * 500)
    at = new_app()
    assert any("damaged" in e.value for e in at.error)
    at.text_area(key="poa.letter_text").set_value(WEAK)
    click(at, at.button(key="poa.check"))  # the check still runs; only saving is refused
    assert (home / "cases.sqlite3").read_bytes().startswith(b"garbage")


def _use_model(at: AppTest, base_url: str) -> AppTest:
    at.selectbox(key="poa.backend").set_value("openai")
    run(at)
    at.text_input(key="poa.base_url.openai").set_value(base_url)
    at.text_input(key="poa.api_key").set_value("sk-app-test-key")
    return run(at)


def test_the_llm_backend_from_the_sidebar_and_its_fallback(home):
    from tests.fake_openai import FakeOpenAI, Reply

    with FakeOpenAI() as server:
        server.queue(Reply(json={"findings": [{"category": "vague", "severity": "medium", "quote": "The carrier was late",
                                               "message": "restates the symptom", "suggestion": "say why"}]}))
        at = _use_model(new_app(), server.base_url)
        at.text_area(key="poa.letter_text").set_value(WEAK)
        run(at)
        assert any("tokens" in c.value for c in at.caption), "the estimate is shown before sending"
        click(at, at.button(key="poa.check"))
        assert any("openai:gpt-4o-mini" in c.value for c in at.caption)
        server.default = lambda request: Reply(status=500)
        editor = next(w for w in at.text_area if (w.key or "").startswith("poa.edit."))
        editor.set_value(WEAK + "\nThank you.")
        click(at, next(b for b in at.button if (b.key or "").startswith("poa.recheck.")))
        assert any("HTTP 500" in w.value and "offline" in w.value for w in at.warning)
        assert any("Checked by: offline" in c.value for c in at.caption)


def test_evals_page_runs_browses_and_compares(home, tmp_path):
    at = new_app()
    at.session_state["poa.runs_dir"] = str(tmp_path / "runs")
    click(at, at.button(key="poa.evals.run"))
    assert any(m.label == "critic.recall" for m in at.metric)
    assert any("poa-finding" in m.value for m in at.html)  # expected and found spans, side by side
    # An earlier run in the folder, its recall lower: the comparison appears and names what moved.
    first = next((tmp_path / "runs").glob("*.json"))
    earlier = json.loads(first.read_text(encoding="utf-8"))
    earlier["metrics"]["critic.recall"] = round(earlier["metrics"]["critic.recall"] - 0.1, 4)
    (tmp_path / "runs" / ("0000" + first.name)).write_text(json.dumps(earlier), encoding="utf-8")
    run(at)
    assert at.selectbox(key="poa.evals.against").value == "0000" + first.name
    moved = at.dataframe[-1].value  # the comparison, the page's last table
    assert list(moved["metric"]) == ["critic.recall"] and list(moved["change"]) == ["better"]


def test_a_second_notice_read_replaces_what_the_first_one_said(home):
    at = new_app()
    at.text_area(key="poa.notice_text").set_value(NOTICE)
    click(at, at.button(key="poa.read"))
    at.text_area(key="poa.notice_text").set_value(
        "Your late shipment rate is 9.2%, above the 4% target. Your selling privileges have been removed.")
    click(at, at.button(key="poa.read"))
    assert next(w for w in at.selectbox if w.key.startswith("poa.violation.")).value == "late_shipment_rate"
    assert next(w for w in at.text_input if w.key.startswith("poa.asins.")).value == ""


def test_a_corrected_violation_survives_a_language_switch(home):
    at = new_app()
    at.text_area(key="poa.notice_text").set_value(NOTICE)
    click(at, at.button(key="poa.read"))
    next(w for w in at.selectbox if w.key.startswith("poa.violation.")).set_value("late_shipment_rate")
    run(at)
    at.radio(key="poa.lang").set_value("zh")
    run(at)
    box = next(w for w in at.selectbox if w.key.startswith("poa.violation."))
    assert box.key.endswith(".zh") and box.value == "late_shipment_rate"


def test_first_page_loads_no_models_nor_rules(home):
    """The first page draws before the models (pydantic) and the critic are loaded: they come with the
    first notice, check or case, so the page is usable sooner. Run in a fresh interpreter: this one
    has loaded them for the other tests."""
    import subprocess
    import sys

    probe = (
        "import sys\nfrom streamlit.testing.v1 import AppTest\n"
        f"at = AppTest.from_file({APP!r}, default_timeout=60)\nat.run()\n"
        "assert not at.exception, [e.message for e in at.exception]\n"
        "assert at.text_area(key='poa.notice_text') is not None\n"
        "print(sorted(m for m in ('pydantic', 'pipeline.models', 'pipeline.critic', 'pipeline.rules') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
