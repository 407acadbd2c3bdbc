"""Every critic rule is data with examples: each must flag its flag lines and pass its pass lines."""

import shutil

import pytest

from pipeline import corpus, rules
from pipeline.critic import analyse, run_rule
from pipeline.rules import Example, Rule, load_rules, rules_without_examples

RULES = load_rules()
CASES = [(r, e) for r in RULES for e in r.examples]


def test_every_rule_has_lines_to_flag_and_lines_to_pass():
    assert rules_without_examples(RULES) == []


def test_a_rule_without_examples_is_reported():
    bare = Rule(id="x.bare", category="vague", severity="low", message="m", suggestion="s", family="x",
                examples=(Example("flag me", True),))
    assert rules_without_examples((bare,)) == ["x.bare"]


def test_every_category_has_rules():
    from pipeline.models import CATEGORIES

    assert {r.category for r in RULES} == set(CATEGORIES)


@pytest.mark.parametrize(
    "rule,example", CASES, ids=[f"{r.id}:{'flag' if e.expect_flag else 'pass'}:{i}" for i, (r, e) in enumerate(CASES)]
)
def test_rule_example(rule, example):
    found = run_rule(rule, analyse(example.text))
    if example.expect_flag:
        assert found, f"{rule.id} should flag {example.text!r}"
    else:
        assert not found, f"{rule.id} should pass {example.text!r} but flagged {[f.quote for f in found]}"
    for f in found:
        assert example.text[f.start : f.end] == f.quote


@pytest.fixture
def corpus_copy(tmp_path, monkeypatch):
    target = tmp_path / "corpus"
    shutil.copytree(corpus.corpus_dir(), target)
    monkeypatch.setenv("POA_CORPUS", str(target))
    for cached in (corpus._load, rules.load_rules, rules.lexicon, rules.rules_version):
        cached.cache_clear()
    yield target
    monkeypatch.delenv("POA_CORPUS")
    for cached in (corpus._load, rules.load_rules, rules.lexicon, rules.rules_version):
        cached.cache_clear()


def test_bad_rule_data_names_the_rule(corpus_copy):
    path = corpus_copy / "rules" / "vague.toml"
    path.write_text(path.read_text(encoding="utf-8").replace('category = "vague"', 'category = "vauge"', 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"vague\.best-effort.*category 'vauge'"):
        load_rules()


def test_bad_pattern_names_the_rule(corpus_copy):
    path = corpus_copy / "rules" / "placeholder.toml"
    text = path.read_text(encoding="utf-8").replace("'\\b[Xx]{3,}\\b',", "'([unclosed',", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"placeholder\.xxx.*bad pattern"):
        load_rules()


def test_hollow_section_names_only_known_categories_and_rules():
    # A misspelt name would silently stop a plea-only or template-only section from counting as missing.
    from pipeline.models import CATEGORIES

    spec = corpus.load("sections.toml")["hollow"]
    ids = {rule.id for rule in load_rules()}
    assert spec["categories"] and set(spec["categories"]) <= set(CATEGORIES)
    assert spec["rules"] and set(spec["rules"]) <= ids
