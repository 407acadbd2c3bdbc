"""The model path of `poa eval` against a real HTTP server on 127.0.0.1 that speaks chat completions
(tests/fake_openai.py): cases run concurrently within the bound, a rerun answers from the cache, an
interrupted run resumes with only the cases not done, failed cases are rows rather than a crash, and
the Batch API input matches the live requests and its output scores the same as the live run."""

import html
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pipeline import critique, evaluation
from pipeline.cli import main
from pipeline.evaluation import EvalInterrupted, case_facts, run_eval, run_model_eval
from pipeline.journal import Journal
from pipeline.llm import LLMBackend
from pipeline.settings import Settings
from tests.fake_openai import FakeOpenAI, Reply

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk-test-SECRET-eval-0123"
# Three letters and three notices with facts: 3 critiques, 3 readings, 3 drafts, 3 drafts with facts.
CASES = 12
CALLS = {"critic": 1, "notice": 1, "draft": 2, "facts": 2}  # a draft is critiqued by a second call
ALL_CALLS = 3 * (1 + 1 + 2 + 2)
NO_FACTS = "<<<FACTS\n{}\nFACTS>>>"


def _first(path: Path, table: str, n: int) -> str:
    marker = f"\n[[{table}]]\n"
    return marker.join(path.read_text(encoding="utf-8").split(marker)[: n + 1]) + "\n"


@pytest.fixture
def evals(tmp_path, monkeypatch):
    """The first three letters and notices of the dev2 sets, as the only labeled cases ("small")."""
    folder = tmp_path / "evals"
    for kind, table in (("critic", "letters"), ("notices", "notices")):
        (folder / kind).mkdir(parents=True)
        (folder / kind / "small.toml").write_text(_first(ROOT / "evals" / kind / "dev2.toml", table, 3), encoding="utf-8")
    monkeypatch.setattr(evaluation, "EVALS", folder)
    return folder


@pytest.fixture
def env(tmp_path, monkeypatch):
    for name in ("POA_BACKEND", "POA_PRESET", "POA_MODEL", "POA_MODE", "OPENAI_BASE_URL", "POA_TIMEOUT",
                 "POA_HTTP_RETRIES", "POA_MAX_RETRIES", "POA_CACHE", "POA_REDACT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("POA_HOME", str(tmp_path / "home"))
    return monkeypatch


def model_answer(request: dict, delay: float = 0.0) -> Reply:
    """The fake model, answering from the request: a finding on the letter's first line, a violation,
    a draft (worded apart when facts were given, so no two cases share a request)."""
    user = request["messages"][-1]["content"]
    if "<<<LETTER" in user:
        first = next(line for line in user.split("<<<LETTER\n", 1)[1].splitlines() if line.strip())
        return Reply(json={"findings": [{"category": "vague", "severity": "medium", "quote": first,
                                         "message": "Too general.", "suggestion": "Name the check."}]}, delay=delay)
    if "<<<NOTICE" in user:
        return Reply(json={"violation": "order_defect_rate", "asins": [], "order_ids": [], "dates": []}, delay=delay)
    extra = "" if NO_FACTS in user else " for the lot the seller named"
    return Reply(json={"root_causes": [f"Our packing check was missing{extra}."],
                       "corrective_actions": ["We re-inspected the remaining stock (inspection sheet attached)."],
                       "preventive_measures": ["Our QC lead checks every lot before it ships, every Monday."]}, delay=delay)


def poa_eval(capsys, *args) -> tuple[int, dict | None, str]:
    """`poa eval` in this process: exit status, the run it wrote (if any), standard error."""
    capsys.readouterr()
    code = main(["eval", "--format", "json", *args])
    out, err = capsys.readouterr()
    run = json.loads(Path(json.loads(out)["run_file"]).read_text(encoding="utf-8")) if out.strip() else None
    return code, run, err


def canon(body: dict) -> str:
    return json.dumps(body, sort_keys=True)


def rows(run: dict) -> list[tuple[str, dict]]:
    return [(block, row) for block, found in (("critic", run["critic"]["cases"]), ("notices", run["notices"]["cases"]),
                                              ("drafts", run["drafts"]["cases"]), ("full_facts", run["drafts"]["full_facts"]))
            for row in found]


def test_cases_run_concurrently_within_the_bound_and_a_rerun_is_all_cached(evals, env, tmp_path, capsys):
    with FakeOpenAI(default=lambda request: model_answer(request, delay=0.15)) as server:
        args = ["--backend", "openai", "--base-url", server.base_url, "--cases", "small", "--concurrency", "3"]
        code, run, err = poa_eval(capsys, *args, "--out", str(tmp_path / "runs"))
        assert code == 0, err
        assert 1 < server.max_in_flight <= 3
        usage = run["usage"]
        assert (usage["cases"], usage["answered"], usage["errors"]) == (CASES, CASES, 0)
        assert len(server.requests) == ALL_CALLS == usage["live_calls"] and usage["cached_calls"] == 0
        assert usage["transport"] == "live" and usage["tokens_in"] > 0 and usage["cost_usd"] > 0
        assert set(usage["stages"]) == {"critic", "notice", "draft", "facts"}
        for _, row in rows(run):  # calls, tokens, latency and cost per case
            assert row["calls"] >= 1 and row["live"] == row["calls"] and row["tokens_in"] > 0
            assert row["latency_ms"] >= 0 and row["cost_usd"] > 0
        assert {"critic.recall", "notice.violation", "draft.clean", "draft.full_facts_ready",
                "model.answered"} <= set(run["metrics"])
        assert run["backend"] == "openai:gpt-4o-mini" and run["prompts"] == {"critique": 1, "notice": 1, "draft": 1}
        assert any(f["source"] == "llm" for row in run["critic"]["cases"] for f in row["findings"])
        assert KEY not in json.dumps(run) and KEY not in Path(run["journal"]).read_text(encoding="utf-8")

        code, again, err = poa_eval(capsys, *args, "--out", str(tmp_path / "again"))
        assert code == 0, err
        assert len(server.requests) == ALL_CALLS  # nothing sent: every answer from the cache
        assert again["usage"]["live_calls"] == 0 and again["usage"]["cached_calls"] == ALL_CALLS
        assert again["metrics"] == run["metrics"]
        summary = Path(again["journal"]).with_suffix(".md").read_text(encoding="utf-8")
        assert f"{ALL_CALLS} calls (0 live, {ALL_CALLS} from the cache)" in summary


def test_an_interrupted_run_resumes_with_only_the_cases_not_done(evals, env, tmp_path):
    def stop_after_four(stage, done, total):
        if done == 4:
            raise KeyboardInterrupt

    with FakeOpenAI(default=lambda request: model_answer(request, delay=0.05)) as server:
        backend = LLMBackend(Settings(backend="openai", base_url=server.base_url, api_key=KEY), home=tmp_path / "home")
        with pytest.raises(EvalInterrupted) as info:
            run_model_eval(backend, "small", concurrency=2, progress=stop_after_four, folder=tmp_path / "runs")
        journal = Journal.open(info.value.run_id, tmp_path / "runs")
        done = {e["key"] for e in journal.entries() if "output" in e}
        assert 4 <= len(done) < CASES and info.value.done == len(done)  # the cases in flight finished too
        before = len(server.requests)
        assert before == sum(CALLS[key.split(":")[0]] for key in done)

        run, pending = run_model_eval(backend, "small", concurrency=2, folder=tmp_path / "runs", journal=journal)
        assert pending == [] and run["id"] == info.value.run_id
        remaining = {u for u in run_keys(run)} - done
        assert len(server.requests) - before == sum(CALLS[key.split(":")[0]] for key in remaining)
        assert run["usage"]["resumed"] == len(done) and run["usage"]["answered"] == CASES
        assert run["usage"]["session"] == {"calls": len(server.requests) - before,
                                           "live_calls": len(server.requests) - before, "cached_calls": 0}
        assert run["usage"]["live_calls"] == ALL_CALLS  # the whole run's calls, both sessions

        whole = LLMBackend(Settings(backend="openai", base_url=server.base_url, api_key=KEY), home=tmp_path / "home2")
        assert run["metrics"] == run_model_eval(whole, "small", folder=tmp_path / "whole")[0]["metrics"]


def run_keys(run: dict) -> set[str]:
    stage = {"critic": "critic", "notices": "notice", "drafts": "draft", "full_facts": "facts"}
    return {f"{stage[block]}:{row['id']}" for block, row in rows(run)}


def test_ctrl_c_keeps_the_journal_and_says_how_to_resume(evals, env, tmp_path, capsys):
    child: dict = {}
    signalled = threading.Event()

    def answer(request):
        if len(server.requests) >= 5 and "proc" in child and not signalled.is_set():
            signalled.set()
            child["proc"].send_signal(signal.SIGINT)
        return model_answer(request, delay=0.1)

    out = tmp_path / "runs"
    script = ("import sys; from pathlib import Path; from pipeline import evaluation; "
              f"evaluation.EVALS = Path({str(evals)!r}); from pipeline.cli import main; sys.exit(main(sys.argv[1:]))")
    with FakeOpenAI(default=answer) as server:
        child["proc"] = proc = subprocess.Popen(
            [sys.executable, "-c", script, "eval", "--backend", "openai", "--base-url", server.base_url,
             "--cases", "small", "--out", str(out), "--concurrency", "2"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
        _, err = proc.communicate(timeout=90)
        assert signalled.is_set() and proc.returncode == 130, err
        assert "interrupted;" in err and "Traceback" not in err
        run_id = re.search(r"Resume with: poa eval --resume (\S+) --out", err).group(1)
        done = {e["key"] for e in Journal.open(run_id, out).entries() if "output" in e}
        assert 0 < len(done) < CASES
        asked = {canon(r) for r in server.requests}
        before = len(server.requests)

        # The journal remembers the server, model and cases: the printed command is enough.
        code, run, err = poa_eval(capsys, "--resume", run_id, "--out", str(out))
        assert code == 0, err
        later = [canon(r) for r in server.requests[before:]]
        assert later and not set(later) & asked  # only cases not done were asked, none twice
        assert run["usage"]["resumed"] == len(done) and run["usage"]["answered"] == CASES


def test_failed_cases_are_rows_and_counted_not_a_crash(evals, env, tmp_path, capsys):
    env.setenv("POA_HTTP_RETRIES", "0")
    env.setenv("POA_MAX_RETRIES", "0")

    def answer(request):
        user = request["messages"][-1]["content"]
        if "<<<NOTICE" in user and "B0CJ4R8WQ2" in user:  # nd2-01
            return Reply(status=500)
        if "<<<LETTER" in user and "Thank you for reviewing our appeal" in user:  # d2-02
            return Reply(json="{not json")
        if "<<<DRAFT" in user and "B09WQL7TCK" in user:  # nd2-03
            return Reply(status=429, headers={"retry-after": "0"}) if NO_FACTS in user else Reply(delay=3, json={})
        return model_answer(request)

    with FakeOpenAI(default=answer) as server:
        code, run, err = poa_eval(capsys, "--backend", "openai", "--base-url", server.base_url, "--cases", "small",
                                  "--out", str(tmp_path / "runs"), "--timeout", "1")
    assert code == 0 and "4 cases failed" in err
    usage = run["usage"]
    assert (usage["errors"], usage["answered"]) == (4, 8) and run["metrics"]["model.answered"] == round(8 / 12, 4)
    errors = {(block, row["id"]): row["error"] for block, row in rows(run) if "error" in row}
    assert "HTTP 500" in errors.pop(("notices", "nd2-01"))
    assert "not valid structured output" in errors.pop(("critic", "d2-02"))
    assert "429" in errors.pop(("drafts", "nd2-03"))
    assert "timeout" in errors.pop(("full_facts", "nd2-03"))
    assert errors == {}
    assert len(run["notices"]["cases"]) == 3 and len([r for r in run["notices"]["cases"] if "violation_ok" in r]) == 2
    assert usage["stages"]["notice"]["errors"] == 1 and usage["stages"]["notice"]["calls"] == 3
    assert "## Errors" in Path(run["journal"]).with_suffix(".md").read_text(encoding="utf-8")


@pytest.mark.parametrize("mode", ["tools", "json"])
def test_batch_requests_are_the_requests_the_live_path_sends(evals, env, tmp_path, capsys, mode):
    with FakeOpenAI(default=model_answer) as server:
        model = ["--backend", "openai", "--base-url", server.base_url, "--mode", mode, "--cases", "small"]
        code, _, err = poa_eval(capsys, *model, "--out", str(tmp_path / "live"))
        assert code == 0, err
        live, sent = {canon(r) for r in server.requests}, len(server.requests)
        env.setenv("POA_HOME", str(tmp_path / "batch-home"))  # an empty cache: every case needs its request
        code, run, err = poa_eval(capsys, *model, "--out", str(tmp_path / "batch"),
                                  "--batch-write", str(tmp_path / "requests.jsonl"))
        assert code == 0 and run is None, err
        assert len(server.requests) == sent  # writing a batch sends nothing
    lines = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(lines) == CASES and len({line["custom_id"] for line in lines}) == CASES  # each case's first request
    for line in lines:
        assert set(line) == {"custom_id", "method", "url", "body"} and len(line["custom_id"]) <= 64
        assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
        assert canon(line["body"]) in live  # the very body the live run sent
        assert ("tools" in line["body"]) == (mode == "tools")
        assert ("response_format" in line["body"]) == (mode == "json")
    assert f"{CASES} of {CASES} cases wait for a Batch answer" in err and "--batch-read RESULTS.jsonl --resume" in err


def batch_output(requests: Path, output: Path, answer=model_answer) -> None:
    """The Batch API's output file for an input file, each answer as the fake server would give it."""
    fake = FakeOpenAI()  # not started: it only builds the chat.completion objects
    out = []
    for i, raw in enumerate(requests.read_text(encoding="utf-8").splitlines()):
        line = json.loads(raw)
        reply = answer(line["body"])
        if isinstance(reply, dict):  # a line as the Batch API writes it for a request it could not run
            out.append({"id": f"batch_req_{i}", "custom_id": line["custom_id"], "response": None, "error": reply})
            continue
        body = fake.completion(line["body"], reply) if reply.status == 200 else {"error": {"message": "server error"}}
        out.append({"id": f"batch_req_{i}", "custom_id": line["custom_id"], "error": None,
                    "response": {"status_code": reply.status, "request_id": f"req_{i}", "body": body}})
    output.write_text("".join(json.dumps(o) + "\n" for o in out), encoding="utf-8")


def batch_rounds(capsys, tmp_path, answer=model_answer) -> tuple[dict, list[int]]:
    """Write the requests, answer them, read the answers, until the run is whole; the run and the
    number of requests in each round."""
    out, sizes = tmp_path / "batch", []
    code, run, err = poa_eval(capsys, "--backend", "openai", "--cases", "small", "--out", str(out),
                              "--batch-write", str(tmp_path / "round1.jsonl"))
    assert code == 0 and run is None, err
    run_id = re.search(r"--resume (\S+)", err).group(1)
    for n in range(1, 5):
        requests, output = tmp_path / f"round{n}.jsonl", tmp_path / f"output{n}.jsonl"
        sizes.append(len(requests.read_text(encoding="utf-8").splitlines()))
        batch_output(requests, output, answer)
        code, run, err = poa_eval(capsys, "--batch-read", str(output), "--batch-write", str(tmp_path / f"round{n + 1}.jsonl"),
                                  "--resume", run_id, "--out", str(out))
        assert code == 0, err
        if run is not None:
            return run, sizes
    raise AssertionError("the batch rounds did not end")


def test_batch_output_scores_the_same_as_the_live_run(evals, env, tmp_path, capsys):
    with FakeOpenAI(default=model_answer) as server:
        code, live, err = poa_eval(capsys, "--backend", "openai", "--base-url", server.base_url, "--cases", "small",
                                   "--out", str(tmp_path / "live"))
        assert code == 0, err
    env.setenv("POA_HOME", str(tmp_path / "batch-home"))
    env.delenv("OPENAI_API_KEY")  # nothing is sent: no key needed on this machine
    run, sizes = batch_rounds(capsys, tmp_path)
    assert sizes == [CASES, 6]  # every case's first request, then the critique of each of the 6 drafts
    assert run["metrics"] == live["metrics"]
    assert run["usage"]["transport"] == "batch" and run["usage"]["answered"] == CASES and run["usage"]["errors"] == 0
    assert run["usage"]["tokens_in"] > 0 and "half" in run["usage"]["cost_note"]
    assert [row["id"] for row in run["drafts"]["full_facts"]] == [row["id"] for row in live["drafts"]["full_facts"]]


def test_broken_batch_answers_are_case_errors(evals, env, tmp_path, capsys):
    env.setenv("POA_HOME", str(tmp_path / "batch-home"))

    def answer(body):
        user = body["messages"][-1]["content"]
        if "<<<NOTICE" in user and "B0CJ4R8WQ2" in user:
            return Reply(json='{"violation": "order_defect_rate", "asins": [')  # cut short: invalid JSON
        if "<<<NOTICE" in user and "B0BT6ZK3LD" in user:
            return Reply(json={"violation": "no_such_violation"})  # valid JSON, fails the response model
        if "<<<LETTER" in user and "Thank you for reviewing our appeal" in user:
            return {"code": "batch_expired", "message": "not run before the completion window expired"}
        if "<<<DRAFT" in user and "B09WQL7TCK" in user and NO_FACTS in user:
            return Reply(status=500)
        return model_answer(body)

    run, sizes = batch_rounds(capsys, tmp_path, answer)
    assert sizes == [CASES, 5]
    errors = {(block, row["id"]): (row["error"], row["detail"]) for block, row in rows(run) if "error" in row}
    assert "not valid structured output" in errors.pop(("notices", "nd2-01"))[0]
    assert "not valid structured output" in errors.pop(("notices", "nd2-02"))[0]
    assert "batch_expired" in errors.pop(("critic", "d2-02"))[1]
    assert "HTTP 500" in errors.pop(("drafts", "nd2-03"))[0]
    assert errors == {} and run["usage"]["errors"] == 4 and run["usage"]["answered"] == 8


def test_full_facts_drafts_offline_and_the_gate_run_unchanged(evals, env, tmp_path, capsys):
    cases = evaluation._notice_cases([evals / "notices" / "small.toml"])
    facts = case_facts(cases[0])
    given = cases[0]["facts"]
    assert facts.what_happened == given["root_cause"]
    assert [a.what for a in facts.actions] == [a["what"] for a in given["actions"]]
    assert [m.what for m in facts.measures] == [m["what"] for m in given["prevention"]]
    assert (facts.signer, facts.store) == (given["signer"], given["store"])
    assert case_facts({"id": "x"}) is None

    run = run_eval("small", full_facts=True)
    found = run["drafts"]["full_facts"]
    assert [row["id"] for row in found] == ["nd2-01", "nd2-02", "nd2-03"]
    for row in found:
        assert row["ready_ok"] == (row["verdict"] == "ready") and row["words"] > 100
        assert row["filled_ok"] == (row["open_slots"] == [])
        assert "[store name]" not in row["open_slots"]  # the signature is never counted against the drafter
    assert {f"draft.full_facts_{k}" for k in ("ready", "sections", "identifiers", "length", "clean", "filled", "score")} \
        <= set(run["metrics"])

    env.setenv("POA_BACKEND", "openai")  # a shell setting never turns `poa eval` into a paid run
    code, plain, err = poa_eval(capsys, "--cases", "small", "--out", str(tmp_path / "runs"))
    assert code == 0 and plain["backend"] == "offline" and "usage" not in plain
    assert "draft.full_facts_ready" in plain["metrics"]  # on by default: the gate guards it
    code, lean, err = poa_eval(capsys, "--cases", "small", "--no-full-facts", "--out", str(tmp_path / "runs"))
    assert code == 0 and not any(k.startswith("draft.full_facts") for k in lean["metrics"])


def test_journal_lines_cut_short_are_ignored_and_unknown_runs_refused(evals, env, tmp_path, capsys):
    journal = Journal.create(tmp_path / "r.jsonl", {"id": "r", "at": "now"})
    journal.append({"key": "critic:a", "fingerprint": "f", "output": {}})
    with journal.path.open("a", encoding="utf-8") as fh:
        fh.write('{"key": "critic:b", "fingerprint": "f", "outp')  # killed mid-write
    assert [e["key"] for e in Journal.open("r", tmp_path).entries()] == ["critic:a"]
    assert Journal.open(str(tmp_path / "r.json"), tmp_path / "elsewhere").path == journal.path
    code = main(["eval", "--resume", "no-such-run", "--out", str(tmp_path)])
    assert code == 2 and "no journal for 'no-such-run'" in capsys.readouterr().err


def test_the_evals_page_opens_a_model_path_run(evals, env, tmp_path, capsys):
    from streamlit.testing.v1 import AppTest

    runs = tmp_path / "runs"
    with FakeOpenAI(default=model_answer) as server:
        code, run, err = poa_eval(capsys, "--backend", "openai", "--base-url", server.base_url, "--cases", "small",
                                  "--out", str(runs))
    assert code == 0, err
    assert sorted(p.suffix for p in runs.iterdir()) == [".json", ".jsonl", ".md"]  # the page lists *.json only
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.session_state["poa.runs_dir"] = str(runs)
    at.button(key="poa.evals.open_button").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert any(c.value.startswith("openai:gpt-4o-mini") for c in at.caption)
    assert {m.label for m in at.metric} >= {"critic.recall", "notice.violation", "draft.clean"}
    # The usage of the run, and the case view showing the model's findings kept in the run (the rules
    # alone do not mark the letter's first line as vague).
    assert {m.label for m in at.metric} >= {"Model calls", "Estimated cost", "Cases failed"}
    item = evaluation.load_letters(evals / "critic" / "small.toml")[0]
    first = next(line for line in item.text.splitlines() if line.strip())
    start = item.text.index(first)
    assert not any(f.category == "vague" and f.start <= start < f.end for f in critique(item.text).findings)
    found_side = at.html[-1].value
    assert re.search(r'<mark class="poa-finding poa-vague"[^>]*>' + re.escape(html.escape(first[:20])), found_side)
