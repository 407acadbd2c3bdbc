"""The learned classifier: trained from the development sets only, reproducibly, and deferring to
the rules wherever they already report a line."""

import json
import shutil

from pipeline import classifier, critique
from pipeline.classifier import CLASSES, features, model, train, training_sets
from pipeline.critic import _merge
from pipeline.models import Finding


def test_the_committed_model_is_what_training_on_the_development_sets_gives():
    """No hand-edited weights, and never trained on the held-out set: retrain and compare."""
    sets = training_sets()
    assert sets and all(p.stem != "holdout" for p in sets)
    committed = (classifier.corpus.corpus_dir() / classifier.FILE).read_text(encoding="utf-8").strip()
    # Compared as a flag: pytest's diff of two 1 MB strings would take longer than the whole suite.
    same = train(sets).to_json() == committed
    assert same, "corpus/classifier.json is stale: run python -m pipeline.classifier"
    assert json.loads(committed)["trained_on"] == [p.name for p in sets]


def test_probabilities_are_a_distribution_and_features_are_deterministic():
    m = model()
    feats = features("We will pay more attention to the packing.", "preventive_measures")
    assert feats == features("We will pay more attention to the packing.", "preventive_measures")
    assert "s:preventive_measures" in feats and "b:more_attention" in feats
    probs = m.probabilities(feats)
    assert len(probs) == len(CLASSES) and abs(sum(probs) - 1) < 1e-9
    assert m.classify("We will pay more attention to the packing.", "preventive_measures")[0] == "vague"
    assert m.classify("On 2026-03-16 our QA lead Li Wei inspected all 340 units (report, Attachment 2).",
                      "corrective_actions")[0] == "none"


def test_a_learned_finding_stands_only_where_no_rule_reports_a_line_category():
    text = "The carrier lost the parcels. We will be more careful."
    rule = Finding(category="blame_shifting", rule="blame_shifting.carrier", severity="high", start=0, end=28,
                   quote=text[0:28], message="", suggestion="")
    learned_here = Finding(category="vague", rule="vague.learned", severity="medium", start=0, end=28,
                           quote=text[0:28], message="", suggestion="")
    learned_alone = Finding(category="vague", rule="vague.learned", severity="medium", start=30, end=53,
                            quote=text[30:53], message="", suggestion="")
    kept = _merge([rule, learned_here, learned_alone], set())
    assert [(f.rule, f.start) for f in kept] == [("blame_shifting.carrier", 0), ("vague.learned", 30)]


def test_without_the_model_file_the_rules_work_alone(tmp_path, monkeypatch):
    letter = "Preventive measures:\nOur team will work more seriously on every order."
    assert "vague.learned" in [f.rule for f in critique(letter).findings]  # no rule names this wording
    copy = tmp_path / "corpus"
    shutil.copytree(classifier.corpus.corpus_dir(), copy)
    (copy / classifier.FILE).unlink()
    monkeypatch.setenv("POA_CORPUS", str(copy))
    model.cache_clear()
    try:
        assert classifier.model() is None
        assert not [f for f in critique(letter).findings if f.rule.endswith(".learned")]
    finally:
        model.cache_clear()
