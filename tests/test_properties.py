"""Bad input never breaks the critic: any text, and every span stays inside it and matches its quote."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline import critique
from pipeline.rules import load_rules

# Pieces that reach the deeper paths: headings, rule trigger lines, markup, Chinese, control characters.
FRAGMENTS = [e.text for r in load_rules() for e in r.examples if len(e.text) < 400] + [
    "Root Cause:\n", "Corrective Actions\n", "Preventive measures:\n", "1.\n", "2. ", "根本原因：", "整改措施\n",
    "<p>", "</p>", "<b>", "&nbsp;", "&amp;", "<br/>", "<insert date>", "[Your Name]", "\r\n", "\x00", "\x0b",
    "\u2028", "\ufeff", "。", "！", "e.g. ", "No. 5 ", "112-3344556-7788990", "B07PQRS123", "\t", "  ",
]


def _check(text: str) -> None:
    result = critique(text)
    for f in result.findings:
        assert 0 <= f.start <= f.end <= len(text)
        assert text[f.start : f.end] == f.quote
    assert 0 <= result.score <= 100
    assert result.score == max(0, 100 - sum(d.points for d in result.deductions))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text(text):
    _check(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=20)), max_size=40).map("".join))
def test_letter_like_text(text):
    _check(text)


def test_one_megabyte_of_mixed_text():
    block = "Root cause: we will do our best 尽快. <p>We have trained our staff.</p> XXX\n" * 20
    text = (block * (1_048_576 // len(block) + 1))[:1_048_576]
    _check(text)


def test_one_megabyte_single_line():
    _check("we will do our best and " * 45_000)


def test_one_megabyte_line_of_blanks_between_words():
    # A pattern anchored at the end of a heading line ("[*_ ]+$", "(note)$") retried from every blank of
    # a long run is quadratic: a line like this one took minutes before those were taken from the end.
    _check("Root cause" + " " * 1_000_000 + "(note) done")
    _check("**" + " \t" * 500_000 + "**")
