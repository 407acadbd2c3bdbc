"""The interface in English and Chinese; finding texts in the interface language, letters in English."""

from pipeline import corpus, critique
from pipeline.i18n import category_labels, finding_text, t
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
