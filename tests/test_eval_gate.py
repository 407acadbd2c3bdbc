"""The regression gate: the offline evaluation against the committed baseline (evals/baseline.json).
A change that makes a measured number worse fails here, and so fails `bash .ci/run`."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import corpus, critique, rules
from pipeline.evaluation import compare, critic_metrics, load_letters, run_eval, score_critic, write_run

ROOT = Path(__file__).resolve().parent.parent
BASELINE = json.loads((ROOT / "evals" / "baseline.json").read_text(encoding="utf-8"))


def _clear():
    for cached in (corpus._load, rules.load_rules, rules.lexicon, rules.rules_version, rules.anchor_indexes):
        cached.cache_clear()


def test_no_metric_is_worse_than_the_baseline(cached_critique):
    run = run_eval(critic=cached_critique)
    worse = [r for r in compare(run, BASELINE) if r["change"] in ("worse", "missing")]
    assert worse == [], worse


def test_weakening_a_rule_fails_the_gate(tmp_path, monkeypatch, cached_critique):
    """The "XXX" placeholder patterns emptied: lines only they catch go unreported and the gate fails.
    (The carrier rule, then the buyer-blame rule, were the example once; the structural third-party
    check and the learned classifier now catch their lines without them, so emptying either moves no
    figure. No learned rule reports placeholders.) Measured on the letters with a placeholder label, where
    its recall is counted, against the same letters with the rule intact."""
    letters = [item for path in sorted((ROOT / "evals" / "critic").glob("*.toml")) for item in load_letters(path)
               if any(label.category == "placeholder" for label in item.labels)]
    assert len(letters) >= 50
    intact = {"metrics": critic_metrics(score_critic(letters, cached_critique))}
    target = tmp_path / "corpus"
    shutil.copytree(corpus.corpus_dir(), target)
    path = target / "rules" / "placeholder.toml"
    text = path.read_text(encoding="utf-8")
    start = text.index('id = "placeholder.xxx"')
    block_end = text.index("[[rules]]", start)
    patterns_start = text.index("patterns = [", start)
    text = text[:patterns_start] + "patterns = [\n  '\\bnever matches anything here\\b',\n]\n" + \
        text[text.index("]\n", patterns_start) + 2 : block_end] + text[block_end:]
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("POA_CORPUS", str(target))
    _clear()
    try:
        weakened = {"metrics": critic_metrics(score_critic(letters, critique))}
    finally:
        monkeypatch.delenv("POA_CORPUS")
        _clear()
    worse = [r["metric"] for r in compare(weakened, intact) if r["change"] == "worse"]
    assert "critic.recall.placeholder" in worse


def test_poa_eval_writes_a_run_and_a_summary(tmp_path):
    run = subprocess.run([sys.executable, "-m", "pipeline.cli", "eval", "--cases", "dev2", "--out", str(tmp_path),
                          "--baseline", str(ROOT / "evals" / "baseline.json")], capture_output=True, timeout=120)
    files = sorted(p.suffix for p in tmp_path.iterdir())
    assert files == [".json", ".md"]
    data = json.loads(next(tmp_path.glob("*.json")).read_text(encoding="utf-8"))
    assert data["critic"]["sets"] == ["dev2"] and data["notices"]["sets"] == ["dev2"]
    assert "confusion" in data["notices"] and data["comparison"]
    # One set alone scores differently from the baseline's full set: the gate reports it and exits 1.
    assert run.returncode != 2, run.stderr
    assert b"Against the baseline" in run.stdout


def test_write_run(tmp_path):
    run = {"at": "2026-11-25T00:00:00+00:00", "backend": "offline", "rules_version": "x", "seconds": 1.0,
           "metrics": {"critic.recall": 0.9}}
    json_path, md_path = write_run(run, tmp_path)
    assert json.loads(json_path.read_text())["metrics"] == {"critic.recall": 0.9}
    assert "| critic.recall | 0.900 |" in md_path.read_text()


def test_identifier_and_metric_precision_and_recall_count_items():
    from pipeline.evaluation import score_readings
    from pipeline.models import Notice

    case = {"id": "n1", "set": "t", "expected": {"violation": "order_defect_rate", "asins": ["B0AAAAAAAA", "B0BBBBBBBB"],
                                                  "order_ids": ["111-1111111-1111111"], "metrics": []}}
    got = Notice(violation="order_defect_rate", confidence=0.9, asins=["B0AAAAAAAA", "B0CCCCCCCC", "B0DDDDDDDD"],
                 order_ids=["111-1111111-1111111"])
    m = score_readings([(case, got)])["metrics"]
    assert m["notice.asins"] == 0.0  # the set is not exact
    assert (m["notice.asins.precision"], m["notice.asins.recall"]) == (round(1 / 3, 4), 0.5)
    assert (m["notice.orders.precision"], m["notice.orders.recall"]) == (1.0, 1.0)
    assert (m["notice.metrics.precision"], m["notice.metrics.recall"]) == (1.0, 1.0)  # nothing read, nothing expected


def test_a_selection_without_notices_reports_no_notice_figures():
    from pipeline.evaluation import run_eval

    run = run_eval("dev9", full_facts=True)  # dev9 exists among the critic sets only
    assert run["critic"]["sets"] == ["dev9"] and run["notices"]["sets"] == []
    assert "critic.recall" in run["metrics"]
    assert not [k for k in run["metrics"] if k.startswith(("notice.", "draft."))]
