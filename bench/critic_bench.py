"""Benchmark: the offline critic against proselint, the peer prose linter, on the same letters.

    python -m pip install -e '.[bench]' && python bench/critic_bench.py [--rounds 5]

Both run in this one process on every labeled letter in evals/critic/: a warm-up round, then the
rounds, the two tools taking turns on each letter. Prints for each the median over letters of a
letter's median time across rounds, their ratio, and how many labeled weak lines each one touches
(a finding that overlaps the line), so speed and usefulness are read side by side.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline import critique  # noqa: E402
from pipeline.evaluation import load_letters  # noqa: E402


def proselint_linter():
    """A function text -> list of (start, end) spans, for whichever proselint API is installed."""
    try:
        from proselint.tools import LintFile  # 0.14 and later
        from proselint.registry import CheckRegistry
        from proselint.checks import __register__

        registry = CheckRegistry()
        if not registry.checks:
            registry.register_many(__register__)

        def lint(text: str):
            # LintFile pads the text with one newline in front; shift spans back onto the letter.
            return [(r.check_result.span[0] - 1, r.check_result.span[1] - 1) for r in LintFile("letter", text).lint()]

        return lint
    except ImportError:
        from proselint.tools import lint as old_lint  # before 0.14

        def lint(text: str):
            return [(start, start + max(extent, 1)) for (_, _, _, _, start, _, extent, _, _) in old_lint(text)]

        return lint


def median_seconds(tools, texts, rounds: int) -> list[float]:
    """Per tool, the median over letters of each letter's median time across `rounds` rounds.

    One untimed round over every letter warms each tool up first (rule loading, caches of compiled
    patterns, check registration). Within a round the tools take turns on each letter, the one going
    first alternating by round, so that a busy moment on the machine falls on both alike; the median
    across rounds then drops such moments, and the median across letters is the typical letter."""
    for fn in tools:
        for text in texts:
            fn(text)
    gc.collect()
    times = [[[] for _ in texts] for _ in tools]
    order = list(range(len(tools)))
    for r in range(rounds):
        for i, text in enumerate(texts):
            for t in order if r % 2 == 0 else order[::-1]:
                started = time.perf_counter()
                tools[t](text)
                times[t][i].append(time.perf_counter() - started)
    return [statistics.median(statistics.median(per) for per in per_letter) for per_letter in times]


def weak_lines_touched(spans_of, letters) -> tuple[int, int]:
    touched = total = 0
    for item in letters:
        spans = spans_of(item.text)
        for label in item.labels:
            if label.whole_letter:
                continue
            total += 1
            if any(s < label.end and label.start < e for s, e in spans):
                touched += 1
    return touched, total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    letters = [item for path in sorted((ROOT / "evals" / "critic").glob("*.toml")) for item in load_letters(path)]
    texts = [item.text for item in letters]
    try:
        peer = proselint_linter()
    except ImportError:
        print("proselint is not installed: python -m pip install -e '.[bench]'", file=sys.stderr)
        return 2

    def ours(text: str):
        return [(f.start, f.end) for f in critique(text).findings if f.start != f.end]

    t_ours, t_peer = median_seconds([critique, peer], texts, args.rounds)
    hit_ours, total = weak_lines_touched(ours, letters)
    hit_peer, _ = weak_lines_touched(peer, letters)
    print(f"{len(texts)} letters, {args.rounds} rounds, median time per letter")
    print(f"  poa critic  {t_ours * 1000:8.2f} ms   weak lines touched {hit_ours}/{total}")
    print(f"  proselint   {t_peer * 1000:8.2f} ms   weak lines touched {hit_peer}/{total}")
    print(f"  ratio       {t_peer / t_ours:8.1f}x  (proselint time / critic time; above 1 means the critic is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
