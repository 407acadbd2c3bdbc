"""The interface in English and Chinese; finding texts in the interface language, letters in English."""

from pipeline import corpus, critique
from pipeline.evaluation import load_letters
from pipeline.i18n import category_labels, finding_text, note_zh, t
from pipeline.models import CATEGORIES
from pipeline.rules import load_rules


def test_every_page_string_has_chinese():
    strings = corpus.load("i18n/ui.toml")
    assert [k for k, v in strings.items() if not v.get("zh")] == []


def test_every_rule_has_a_chinese_message_and_suggestion():
    zh = corpus.load("i18n/rules.zh.toml")
    ids = {r.id for r in load_rules()}
    assert ids - set(zh) == set(), "rules without a Chinese translation"
    assert all(entry.get("message") and entry.get("suggestion") for entry in zh.values())


def test_findings_follow_the_interface_language():
    finding = critique("Root cause:\nWe will do our best.").findings[-1]
    message_zh, suggestion_zh = finding_text(finding, "zh")
    assert message_zh != finding.message and any("\u4e00" <= c <= "\u9fff" for c in message_zh)
    assert finding_text(finding, "en") == (finding.message, finding.suggestion)


def test_category_labels_and_formatting():
    assert set(category_labels("zh")) == set(CATEGORIES)
    assert t("draft.deadline", "zh", days=17) == "17 天内答复"
    assert t("no.such.key", "zh") == "no.such.key"


def test_a_findings_note_is_kept_in_chinese():
    # The critic adds notes to some messages: the heading that stands empty, the model's confidence.
    letter = "Root Cause\nOur handling time was set to 1 day.\nCorrective Actions\n\nPreventive Measures\nEvery Monday our lead checks it.\n"
    empty = next(f for f in critique(letter).findings if f.rule == "missing_section.corrective_actions")
    assert "nothing is written under it" in empty.message
    assert finding_text(empty, "zh")[0].endswith("标题在，但标题下面什么都没写。")


def test_every_note_the_critic_writes_has_chinese():
    from pipeline.i18n import _note

    notes = set()
    for name in ("dev", "dev30", "dev31", "dev32", "dev33", "dev34", "dev35"):
        for item in load_letters(corpus.corpus_dir().parent / "evals" / "critic" / f"{name}.toml"):
            for f in critique(item.text).findings:
                note = _note(f)
                if note:
                    notes.add(note)
                    assert note_zh(note) != note, f"no Chinese for the note {note!r}"
                    assert finding_text(f, "zh")[0].endswith(note_zh(note))
    assert len(notes) > 10  # confidences, word counts, empty headings, letters without headings
    assert note_zh(" (model confidence 81%)") == "（模型置信度 81%）"
    assert note_zh(" a note nobody translated") == " a note nobody translated"
