"""The learned classifier: trained from the development sets only, reproducibly, and deferring to
the rules wherever they already report a line."""

import json
import math
import random
import shutil

import pytest

from pipeline import classifier, critique
from pipeline.classifier import CLASSES, _adagrad, features, model, train, training_sets
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


def _adagrad_loop(data, epochs, rate, l2, min_count):
    """AdaGrad written out one feature and one class at a time: what the vectorised training must equal.
    Also counts the steps whose gradient for a class was exactly zero."""
    counts = {}
    for feats, _, _ in data:
        for f in set(feats):
            counts[f] = counts.get(f, 0) + 1
    k = len(CLASSES)
    weights = {f: [0.0] * k for f, c in counts.items() if c >= min_count}
    grads = {f: [1e-8] * k for f in weights}
    bias, bias_g = [0.0] * k, [1e-8] * k
    rows = [([f for f in set(feats) if f in weights], cls, wt) for feats, cls, wt in data]
    zero = 0
    for _ in range(epochs):
        for feats, cls, wt in rows:
            scores = list(bias)
            for f in feats:
                for i, v in enumerate(weights[f]):
                    scores[i] += v
            top = max(scores)
            exp = [math.exp(s - top) for s in scores]
            total = sum(exp)
            for i in range(k):
                g = wt * (exp[i] / total - (1.0 if i == cls else 0.0))
                bias_g[i] += g * g
                bias[i] -= rate * g / math.sqrt(bias_g[i])
                if g == 0.0:
                    zero += 1
                    continue
                for f in feats:
                    w = weights[f]
                    step = g + l2 * w[i]
                    grads[f][i] += step * step
                    w[i] -= rate * step / math.sqrt(grads[f][i])
    return weights, bias, zero


@pytest.mark.parametrize("rate", [0.3, 400.0])
def test_training_takes_the_same_steps_as_the_loop_over_features_and_classes(rate):
    """Bit for bit, on examples with no feature, features seen once (dropped) and repeated classes; at the
    large rate the scores grow apart until some class's probability rounds to exactly 0 or 1."""
    rng = random.Random(7)
    vocab = [f"w:{i}" for i in range(80)]
    data = [(rng.sample(vocab, rng.randint(0, 12)) + [f"once:{n}"], rng.randrange(len(CLASSES)), rng.choice([1.0, 2.0]))
            for n in range(300)]
    weights, bias = _adagrad(data, 3, rate, 1e-4, 2)
    expected_weights, expected_bias, zero = _adagrad_loop(data, 3, rate, 1e-4, 2)
    assert (zero > 0) == (rate > 1)
    assert list(weights) == list(expected_weights) and not any(f.startswith("once:") for f in weights)
    assert weights == expected_weights and bias == expected_bias


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


def _write_set(path, pleas):
    letters = []
    for i, plea in enumerate(pleas):
        good = f"On 2026-03-0{i + 1} our QA lead removed {10 + i} units from stock (report, Attachment {i + 1})"
        text = f"Root cause:\nOur inspection missed the damage.\nCorrective actions:\n{good}.\nPreventive measures:\n{plea}.\n"
        letters.append(f'[[letters]]\nid = "{path.stem}-{i}"\nviolation = "other"\nkind = "weak"\ntext = """\n{text}"""\n'
                       f'[[letters.labels]]\ncategory = "emotional_appeal"\nquote = "{plea}"\n'
                       f'[[letters.good]]\nquote = "{good}"\n')
    path.write_text("\n".join(letters), encoding="utf-8")
    return path


def test_cross_validation_scores_each_left_out_set_with_a_model_trained_on_the_others(tmp_path):
    seen = _write_set(tmp_path / "seen.toml", ["Please forgive us and give us one more chance, we beg you"] * 6)
    unseen = _write_set(tmp_path / "unseen.toml", ["We beg you for one more chance, please forgive us"] * 3)
    result = classifier.cross_validate([seen, unseen], ["unseen"], epochs=6)
    row = result["sets"][0]
    assert row["set"] == "unseen" and row["labelled"] == 3 and row["good"] == 3
    # Trained only on "seen", the model finds the same plea in new word order and leaves the dated,
    # owned lines alone.
    assert row["found"] == 3 and row["good_flagged"] == 0
    assert result["recall"] == 1.0 and result["precision"] == 1.0
    assert classifier.cross_validate([seen, unseen], ["unseen"], epochs=6) == result  # deterministic
    # Left out, "seen" meets a model trained on three letters only: scored all the same, never trained on itself.
    assert classifier.cross_validate([seen, unseen], ["seen"], epochs=6)["sets"][0]["labelled"] == 6
    try:
        classifier.cross_validate([seen, unseen], ["dev99"])
    except ValueError as exc:
        assert "dev99" in str(exc)
    else:
        raise AssertionError("an unknown set must be refused")


def test_cross_validation_never_trains_on_the_set_it_scores(tmp_path):
    """A plea in words and a place no other set has: found only by a model that saw it in training."""
    seen = _write_set(tmp_path / "seen.toml", ["Please forgive us and give us one more chance, we beg you"] * 6)
    odd = tmp_path / "odd.toml"
    _write_set(odd, ["Please forgive us and give us one more chance, we beg you"] * 4)
    plea = "Have mercy, our little kids are hungry and crying every night"
    odd.write_text(odd.read_text(encoding="utf-8").replace("Our inspection missed the damage", plea)
                   .replace('category = "emotional_appeal"\nquote = "Please',
                            f'category = "emotional_appeal"\nquote = "{plea}"\n[[letters.labels]]\ncategory = "emotional_appeal"\nquote = "Please'),
                   encoding="utf-8")
    left_out = classifier.cross_validate([seen, odd], ["odd"], epochs=6)["sets"][0]
    assert left_out["labelled"] == 8 and left_out["found"] == 4  # the known plea only
    from pipeline.evaluation import load_letters
    weights, bias = classifier.fit(classifier.examples(load_letters(seen) + load_letters(odd)), epochs=6)
    trained_on_it = classifier.Model(weights=weights, bias=bias, thresholds=dict(classifier.THRESHOLDS), trained_on=())
    assert trained_on_it.classify(plea, "root_cause")[0] == "emotional_appeal"
