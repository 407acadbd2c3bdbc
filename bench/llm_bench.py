"""Benchmark of the LLM backend against the local chat-completions server with a fixed delay.

    python bench/llm_bench.py [--cases 8] [--delay 0.3]

Prints model calls and tokens per draft (from the call log), and the wall time of N drafts run
concurrently against the same N run one by one, in one run, with their ratio."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.llm import LLMBackend  # noqa: E402
from pipeline.models import Facts, Notice  # noqa: E402
from pipeline.settings import Settings  # noqa: E402
from tests.fake_openai import FakeOpenAI, Reply  # noqa: E402

ANSWER = {
    "root_causes": ["Our handling time was set to 1 day, but the carrier collects at 3 pm; we did not compare the two."],
    "corrective_actions": ["On 2026-03-16 we set the handling time to 2 days for all 212 SKUs (screenshot attached)."],
    "preventive_measures": ["From 2026-03-18 our warehouse lead checks the late shipment report every Monday."],
}


def answer(request: dict) -> Reply:
    wants_review = "<<<LETTER" in request["messages"][-1]["content"]  # the critique prompt's marker
    return Reply(json={"findings": []} if wants_review else ANSWER)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.3, help="seconds the fake model takes per call")
    args = parser.parse_args()
    facts = Facts(slots={"fix_date": "2026-03-16", "start_date": "2026-03-18"})
    notices = [Notice(violation="late_shipment_rate", confidence=0.9, asins=[f"B07PQRS{i:03d}"]) for i in range(args.cases)]
    with FakeOpenAI(fixed_delay=args.delay, default=answer) as server, tempfile.TemporaryDirectory() as home:
        llm = LLMBackend(Settings(backend="openai", base_url=server.base_url, api_key="bench", cache=False,
                                  http_retries=0), home=home)
        started = time.monotonic()
        for notice in notices:
            llm.draft(notice, facts)
        serial = time.monotonic() - started
        started = time.monotonic()
        with ThreadPoolExecutor(args.cases) as pool:
            list(pool.map(lambda n: llm.draft(n, facts), notices))
        concurrent = time.monotonic() - started
        rows = llm.log.rows()
    per_draft = len(rows) / (2 * args.cases)
    tokens_in = sum(r["tokens_in"] for r in rows) / (2 * args.cases)
    tokens_out = sum(r["tokens_out"] for r in rows) / (2 * args.cases)
    print(f"{args.cases} drafts, model delay {args.delay}s per call")
    print(f"  per draft: {per_draft:.1f} model calls, {tokens_in:.0f} tokens in, {tokens_out:.0f} tokens out")
    print(f"  one by one   {serial:6.2f} s")
    print(f"  concurrent   {concurrent:6.2f} s")
    print(f"  ratio        {serial / concurrent:6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
