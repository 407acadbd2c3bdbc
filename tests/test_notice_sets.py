"""The notice reader on every labeled notice set: violation, identifier sets, metric values.

holdout.toml was written by someone who never saw the reader; its first measurement is recorded in
evals/notices/UNSEEN.md."""

import tomllib
from pathlib import Path

import pytest

from pipeline import parse_notice

SETS = sorted((Path(__file__).resolve().parent.parent / "evals" / "notices").glob("*.toml"))


@pytest.fixture(scope="module", params=SETS, ids=[p.stem for p in SETS])
def readings(request):
    notices = tomllib.loads(request.param.read_text(encoding="utf-8"))["notices"]
    return [(n, parse_notice(n["text"])) for n in notices]


def test_violation_is_right_at_least_nine_times_in_ten(readings):
    right = sum(r.violation == n["expected"]["violation"] for n, r in readings)
    assert right / len(readings) >= 0.9
    assert len({n["expected"]["violation"] for n, _ in readings}) >= 13


def test_asin_and_order_id_sets_are_exact(readings):
    for n, r in readings:
        assert set(r.asins) == set(n["expected"]["asins"]), n["id"]
        assert set(r.order_ids) == set(n["expected"]["order_ids"]), n["id"]


def test_metric_values_are_exact(readings):
    for n, r in readings:
        expected = {(m["name"], m["value"]) for m in n["expected"]["metrics"]}
        assert {(m.name, m.value) for m in r.metrics} == expected, n["id"]
