"""The `poa` command line: critique a letter, read a notice, list the evidence questions, draft a POA."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from .critic import critique
from .inputs import InputError, read_text
from .letter import read as read_letter
from pydantic import ValidationError

from .models import SEVERITIES, Critique, Facts, Notice, Question

_COLOURS = {"high": "31", "medium": "33", "low": "36", "dim": "2", "bold": "1", "ok": "32"}


class _Style:
    def __init__(self, enabled: bool):
        self.enabled = enabled

    def __call__(self, text: str, kind: str) -> str:
        return f"\033[{_COLOURS[kind]}m{text}\033[0m" if self.enabled else text


def _use_colour(choice: str, stream) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


def format_text(result: Critique, text: str, name: str, style: _Style) -> str:
    """A report for a person: where each finding stands, the quote, why it hurts and a better way."""
    letter = read_letter(text)
    out: list[str] = []
    for f in result.findings:
        line, col = letter.line_col(f.start)
        head = f"{name}:{line}:{col}  {style(f'{f.severity:<6}', f.severity)}  {f.category}  {style(f.rule, 'dim')}"
        out.append(head)
        if f.quote:
            quote = f.quote if len(f.quote) <= 240 else f.quote[:237] + "..."
            out.append(f"    \"{quote}\"")
        out.append(f"    Why: {f.message}")
        out.append(f"    Better: {f.suggestion}")
        out.append("")
    marks = "  ".join(
        f"{name.replace('_', ' ')} {style('yes', 'ok') if present else style('MISSING', 'high')}"
        for name, present in result.sections.model_dump().items()
    )
    out.append(f"Sections: {marks}")
    out.append(f"Words: {result.stats.words}   Findings: {len(result.findings)}")
    verdict_kind = {"ready": "ok", "needs_work": "medium", "not_ready": "high"}[result.verdict]
    out.append(style(f"Score {result.score}/100 - {result.verdict_reason}", verdict_kind))
    for d in result.deductions:
        out.append(f"  -{d.points:<3} {d.rule} ({d.count} x {d.severity})")
    return "\n".join(out) + "\n"


def _backend(args: argparse.Namespace, command: str):
    """The LLM backend when one is chosen (flags or POA_BACKEND), else None for the offline engine."""
    from .settings import Settings

    overrides = {"backend": args.backend, "preset": args.preset, "model": args.model, "base_url": args.base_url,
                 "mode": args.mode, "timeout": args.timeout}
    if args.no_cache:
        overrides["cache"] = False
    if args.no_redact:
        overrides["redact"] = False
    try:
        settings = Settings.from_env(**{k: v for k, v in overrides.items() if v is not None})
    except (ValueError, ValidationError) as exc:
        raise InputError(f"bad backend settings: {exc}") from exc
    if settings.backend == "offline":
        return None
    from .llm import LLMBackend, LLMError

    try:
        return LLMBackend(settings)
    except LLMError as exc:
        raise InputError(str(exc)) from exc


def _with_model(command: str, backend, llm_job, offline_job):
    if backend is None:
        return offline_job()
    from .llm import with_fallback

    result, error = with_fallback(llm_job, offline_job)
    if error:
        print(f"poa {command}: the model failed ({error}); showing the offline result instead", file=sys.stderr)
    return result


def _critique_command(args: argparse.Namespace) -> int:
    try:
        text = read_text(args.file)
        backend = _backend(args, "critique")
    except InputError as exc:
        print(f"poa critique: {exc}", file=sys.stderr)
        return 2
    result = _with_model("critique", backend, lambda: backend.critique(text), lambda: critique(text))
    if args.format == "json":
        _dump(result)
    else:
        name = "<stdin>" if args.file == "-" else args.file
        sys.stdout.write(format_text(result, text, name, _Style(_use_colour(args.color, sys.stdout))))
    if args.fail_on and result.at_or_above(args.fail_on):
        return 1
    return 0


def _dump(model) -> None:
    json.dump(model.model_dump(mode="json") if hasattr(model, "model_dump") else model, sys.stdout,
              ensure_ascii=False, indent=2)
    sys.stdout.write("\n")


def _read_notice(command: str, source: str) -> Notice | None:
    from .notice import parse_notice  # the reader's patterns load on first use

    try:
        text = read_text(source)
    except InputError as exc:
        print(f"poa {command}: {exc}", file=sys.stderr)
        return None
    return parse_notice(text)


def _read_facts(source: str | None) -> Facts | None:
    if source is None:
        return Facts()
    try:
        data = json.loads(read_text(source))
    except InputError as exc:
        print(f"poa draft: {exc}", file=sys.stderr)
        return None
    except json.JSONDecodeError as exc:
        print(f"poa draft: {source} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", file=sys.stderr)
        return None
    try:
        return Facts.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'facts'}: {e['msg']}" for e in exc.errors())
        print(f"poa draft: {source} does not match the facts schema (see `poa schema facts`): {problems}", file=sys.stderr)
        return None


def format_notice(notice: Notice) -> str:
    pct = f"{notice.confidence:.0%}"
    others = ", ".join(f"{c.violation} {c.score:.0%}" for c in notice.candidates[1:4])
    rows = [f"Violation:   {notice.violation} ({pct} sure)" + (f"; also possible: {others}" if others else "")]
    for label, values in (
        ("ASINs", notice.asins), ("Orders", notice.order_ids), ("Complaints", notice.complaint_ids),
        ("Rights", notice.rights_ids), ("Documents", notice.requested_documents), ("Policies", notice.policies),
        ("Dates", notice.dates),
    ):
        if values:
            rows.append(f"{label + ':':<13}{', '.join(values)}")
    for m in notice.metrics:
        rows.append(f"{'Metric:':<13}{m.name} {m.value:g}%" + (f" (target {m.target})" if m.target else ""))
    if notice.marketplace:
        rows.append(f"{'Marketplace:':<13}{notice.marketplace}")
    if notice.deadline_days is not None:
        rows.append(f"{'Deadline:':<13}within {notice.deadline_days} days")
    rows += [f"Note: {w}" for w in notice.warnings]
    return "\n".join(rows) + "\n"


def format_questions(items: list[Question], lang: str) -> str:
    out = []
    for i, q in enumerate(items, 1):
        ask = q.ask_zh if lang == "zh" and q.ask_zh else q.ask
        out.append(f"{i}. {ask}" + (f"   [{q.root_cause}]" if q.root_cause else ""))
        for o in q.options:
            label = o.label_zh if lang == "zh" and o.label_zh else o.label
            out.append(f"     - {o.id}: {label}")
        if q.proof:
            out.append(f"     Proof: {q.proof}")
        if q.example:
            out.append(f"     Example: {q.example}")
    return "\n".join(out) + "\n"


def _notice_command(args: argparse.Namespace) -> int:
    from .notice import parse_notice

    try:
        text = read_text(args.file)
        backend = _backend(args, "notice")
    except InputError as exc:
        print(f"poa notice: {exc}", file=sys.stderr)
        return 2
    notice = _with_model("notice", backend, lambda: backend.parse_notice(text), lambda: parse_notice(text))
    if args.format == "json":
        _dump(notice)
    else:
        sys.stdout.write(format_notice(notice))
    return 0


def _questions_command(args: argparse.Namespace) -> int:
    from .drafter import questions

    notice = _read_notice("questions", args.notice)
    if notice is None:
        return 2
    items = questions(notice)
    if args.format == "json":
        _dump([q.model_dump(mode="json") for q in items])
    else:
        sys.stdout.write(format_questions(items, args.lang))
    return 0


def _draft_command(args: argparse.Namespace) -> int:
    from .drafter import draft

    notice = _read_notice("draft", args.notice)
    if notice is None:
        return 2
    facts = _read_facts(args.facts)
    if facts is None:
        return 2
    try:
        backend = _backend(args, "draft")
    except InputError as exc:
        print(f"poa draft: {exc}", file=sys.stderr)
        return 2
    try:
        result = _with_model("draft", backend, lambda: backend.draft(notice, facts), lambda: draft(notice, facts))
    except KeyError as exc:  # a root cause id the playbook does not have
        print(f"poa draft: {exc.args[0]}", file=sys.stderr)
        return 2
    if args.format == "json":
        _dump(result)
    elif args.format == "md":
        sys.stdout.write(result.markdown)
    else:
        sys.stdout.write(result.text)
        c = result.critique
        print(
            f"\n--- {result.stats.words} words, {result.stats.characters} characters; "
            f"{len(result.open_slots)} facts still missing; critic: {c.score}/100, {c.verdict_reason}",
            file=sys.stderr,
        )
    return 0


def _model_only(args: argparse.Namespace, command: str):
    backend = _backend(args, command)
    if backend is None:
        raise InputError(f"{command} needs the LLM backend (--backend openai, or POA_BACKEND=openai)")
    return backend


def _revise_command(args: argparse.Namespace) -> int:
    from .llm import LLMError

    try:
        text = read_text(args.letter)
        backend = _model_only(args, "revise")
    except InputError as exc:
        print(f"poa revise: {exc}", file=sys.stderr)
        return 2
    findings = critique(text).findings
    if args.rules:
        wanted = set(args.rules.split(","))
        findings = [f for f in findings if f.rule in wanted or f.category in wanted]
    try:
        revised, result = backend.revise(text, findings)
    except LLMError as exc:
        print(f"poa revise: the model failed ({exc}); your letter is unchanged", file=sys.stderr)
        return 1
    if args.format == "json":
        _dump({"text": revised, "critique": result.model_dump(mode="json")})
    else:
        sys.stdout.write(revised if revised.endswith("\n") else revised + "\n")
        print(f"--- critic: {result.score}/100, {result.verdict_reason}", file=sys.stderr)
    return 0


def _rejection_command(args: argparse.Namespace) -> int:
    from .llm import LLMError

    try:
        letter, answer = read_text(args.letter), read_text(args.answer)
        backend = _model_only(args, "rejection")
    except InputError as exc:
        print(f"poa rejection: {exc}", file=sys.stderr)
        return 2
    try:
        reply = backend.rejection(letter, answer)
    except LLMError as exc:
        print(f"poa rejection: the model failed ({exc}); your letter is unchanged", file=sys.stderr)
        return 1
    if args.format == "json":
        _dump(reply)
    else:
        sys.stdout.write("Amazon asks for:\n" + "".join(f"  - {a}\n" for a in reply.asks_for))
        sys.stdout.write("Not yet in the letter:\n" + "".join(f"  - {m}\n" for m in reply.missing))
        sys.stdout.write("\n" + reply.letter + ("" if reply.letter.endswith("\n") else "\n"))
    return 0


def _eval_progress(stage: str, done: int, total: int) -> None:
    if sys.stderr.isatty() and total:
        filled = int(30 * done / total)
        sys.stderr.write(f"\r{stage:<8} [{'#' * filled}{'.' * (30 - filled)}] {done}/{total}")
        sys.stderr.flush()


def _eval_command(args: argparse.Namespace) -> int:
    from pathlib import Path

    from .evaluation import compare, run_eval, summary_markdown, write_run

    baseline = None
    if args.baseline:
        try:
            baseline = json.loads(Path(args.baseline).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            print(f"poa eval: cannot read the baseline {args.baseline}: {exc}", file=sys.stderr)
            return 2
    # The model path only when asked on the command line: POA_BACKEND in a shell never starts a paid run.
    model_only = [flag for flag, given in (("--resume", args.resume), ("--batch-write", args.batch_write),
                                           ("--batch-read", args.batch_read)) if given]
    if args.backend == "offline" and model_only:
        print(f"poa eval: {model_only[0]} is for the model path, not --backend offline", file=sys.stderr)
        return 2
    if args.backend == "openai" or args.preset or model_only:
        outcome = _model_eval(args)
        if isinstance(outcome, int):
            return outcome
        run = outcome
    else:
        run = run_eval(args.cases or "*", _eval_progress, full_facts=args.full_facts)
        if sys.stderr.isatty():
            sys.stderr.write("\n")
    if baseline is not None:
        run["comparison"] = compare(run, baseline, args.tolerance)
    json_path, md_path = write_run(run, Path(args.out) if args.out else None)
    if args.format == "json":
        _dump({k: v for k, v in run.items() if k not in ("notices", "drafts", "critic")} | {"run_file": str(json_path)})
    else:
        sys.stdout.write(summary_markdown(run, run.get("comparison")))
        print(f"\nRun: {json_path}\nSummary: {md_path}")
    errors = run.get("usage", {}).get("errors")
    if errors:
        print(f"poa eval: {errors} cases failed; each is an error row in the run file", file=sys.stderr)
    worse = [r for r in run.get("comparison", []) if r["change"] in ("worse", "missing")]
    if worse:
        print("poa eval: worse than the baseline: " + ", ".join(f"{r['metric']} {r['old']} -> {r['new']}" for r in worse),
              file=sys.stderr)
        return 1
    return 0


def _model_eval(args: argparse.Namespace):
    """The model-path run (live or through the Batch API): the scored run, or an exit status."""
    import logging
    from pathlib import Path

    from . import batch
    from .evaluation import EVALS, EvalInterrupted, run_model_eval
    from .journal import Journal
    from .settings import PRESETS

    if args.concurrency < 1:
        print("poa eval: --concurrency needs at least 1", file=sys.stderr)
        return 2
    folder = Path(args.out) if args.out else EVALS / "runs"
    journal = None
    if args.resume:
        try:
            journal = Journal.open(args.resume, folder)
        except ValueError as exc:
            print(f"poa eval: {exc}", file=sys.stderr)
            return 2
        # A resumed run keeps the cases and the model it started with, unless told otherwise.
        saved = journal.header.get("settings", {})
        for name in ("preset", "model", "base_url", "mode"):
            if getattr(args, name) is None and saved.get(name):
                setattr(args, name, saved[name])
        args.no_redact = args.no_redact or saved.get("redact") is False
        args.cases = args.cases or journal.header.get("cases")
    batched = bool(args.batch_write or args.batch_read)
    if batched and not (args.base_url or args.preset or os.environ.get("OPENAI_BASE_URL") or os.environ.get("OPENAI_API_KEY")):
        args.base_url = PRESETS["openai"]["base_url"]  # named in the requests' settings only; nothing is sent
    args.backend = "openai"
    try:
        backend = _backend(args, "eval")
    except InputError as exc:
        print(f"poa eval: {exc}", file=sys.stderr)
        return 2
    transport = None
    if batched:
        try:
            transport = batch.Transport(batch.read_results([Path(p) for p in args.batch_read or []]))
        except (OSError, ValueError) as exc:
            print(f"poa eval: cannot read the Batch output: {exc}", file=sys.stderr)
            return 2
        batch.attach(backend, transport)
    # instructor logs every failed attempt to stderr; a failed case is reported in its row instead.
    logging.getLogger("instructor").addHandler(logging.NullHandler())
    try:
        run, pending = run_model_eval(backend, args.cases or "*", concurrency=args.concurrency, progress=_eval_progress,
                                      notify=lambda message: print(("\n" if sys.stderr.isatty() else "")
                                                                   + f"poa eval: {message}", file=sys.stderr),
                                      folder=folder, journal=journal, transport=transport)
    except ValueError as exc:
        print(f"poa eval: {exc}", file=sys.stderr)
        return 2
    except EvalInterrupted as stop:
        out = f" --out {args.out}" if args.out else ""
        print(f"\npoa eval: interrupted; {stop.done} of {stop.total} cases are done and kept in {stop.journal}\n"
              f"Resume with: poa eval --resume {stop.run_id}{out}", file=sys.stderr)
        return 130
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    if pending:
        target = Path(args.batch_write) if args.batch_write else folder / f"{run['id']}.batch.jsonl"
        batch.write_requests(pending, target)
        waiting = run["usage"]["pending"]
        stages = {line["custom_id"].partition(":")[0] for line in pending}
        why = " (a draft is critiqued by a second request, made once the draft is in)" \
            if args.batch_read and stages <= {"draft", "facts"} else ""
        print(f"poa eval: {waiting} of {run['usage']['cases']} cases wait for a Batch answer{why}; wrote "
              f"{len(pending)} requests to {target}.\nUpload it to the Batch API (see the README), then:\n"
              f"  poa eval --batch-read RESULTS.jsonl --resume {run['id']}" + (f" --out {args.out}" if args.out else ""),
              file=sys.stderr)
        return 0
    return run


def _schema_command(args: argparse.Namespace) -> int:
    _dump(Facts.model_json_schema())
    return 0


def _model_flags(parser: argparse.ArgumentParser) -> None:
    from .settings import PRESETS

    group = parser.add_argument_group("model backend (default: offline; also POA_BACKEND, OPENAI_API_KEY, ...)")
    group.add_argument("--backend", choices=["offline", "openai"])
    group.add_argument("--preset", choices=list(PRESETS), help="server preset: address, model and mode")
    group.add_argument("--model")
    group.add_argument("--base-url", dest="base_url", help="an OpenAI-compatible server, e.g. http://localhost:11434/v1")
    group.add_argument("--mode", choices=["tools", "json", "json_schema", "md_json"], help="instructor mode")
    group.add_argument("--timeout", type=float, help="seconds to wait for the model")
    group.add_argument("--no-cache", action="store_true", help="do not answer from the local cache")
    group.add_argument("--no-redact", action="store_true", help="send e-mails, phones, addresses and names as they are")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="poa", description="Write and review Amazon Plans of Action, offline.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    crit = commands.add_parser("critique", help="review a Plan of Action line by line")
    crit.add_argument("file", metavar="FILE", help="the letter as a text file, or - for standard input")
    crit.add_argument("--format", choices=["text", "json"], default="text")
    crit.add_argument("--fail-on", choices=list(SEVERITIES), help="exit 1 when a finding at or above this severity exists")
    crit.add_argument("--color", choices=["auto", "always", "never"], default="auto", help="colour in text output")
    crit.set_defaults(run=_critique_command)
    _model_flags(crit)

    notice = commands.add_parser("notice", help="read an Amazon notice: violation, identifiers, metrics, deadline")
    notice.add_argument("file", metavar="FILE", help="the notice as text, e-mail or HTML, or - for standard input")
    notice.add_argument("--format", choices=["text", "json"], default="text")
    notice.set_defaults(run=_notice_command)
    _model_flags(notice)

    ask = commands.add_parser("questions", help="the facts to gather for a notice, each with the proof it needs")
    ask.add_argument("notice", metavar="NOTICE", help="the notice file, or -")
    ask.add_argument("--format", choices=["text", "json"], default="text")
    ask.add_argument("--lang", choices=["en", "zh"], default="en", help="language of the questions in text output")
    ask.set_defaults(run=_questions_command)

    dr = commands.add_parser("draft", help="draft a Plan of Action from a notice and your facts")
    dr.add_argument("notice", metavar="NOTICE", help="the notice file, or -")
    dr.add_argument("--facts", metavar="FACTS.json", help="your answers (see `poa schema facts`)")
    dr.add_argument("--format", choices=["text", "md", "json"], default="text")
    dr.set_defaults(run=_draft_command)
    _model_flags(dr)

    rev = commands.add_parser("revise", help="apply the critic's findings to a letter with the model, then re-check")
    rev.add_argument("letter", metavar="LETTER")
    rev.add_argument("--rules", help="comma-separated rule ids or categories to apply (default: all findings)")
    rev.add_argument("--format", choices=["text", "json"], default="text")
    rev.set_defaults(run=_revise_command)
    _model_flags(rev)

    rej = commands.add_parser("rejection", help="read Amazon's answer to an appeal: what it asks for, and a revision")
    rej.add_argument("letter", metavar="LETTER", help="the letter you sent")
    rej.add_argument("answer", metavar="ANSWER", help="Amazon's answer")
    rej.add_argument("--format", choices=["text", "json"], default="text")
    rej.set_defaults(run=_rejection_command)
    _model_flags(rej)

    ev = commands.add_parser("eval", help="score the critic, the notice reader and the drafter on the labeled cases")
    ev.add_argument("--cases", metavar="GLOB", help="which sets in evals/critic and evals/notices (file stem; default all)")
    ev.add_argument("--baseline", metavar="FILE", help="a run or baseline JSON; exit 1 when a metric drops beyond tolerance")
    ev.add_argument("--tolerance", type=float, default=0.005, help="allowed drop per metric (0-1 scale)")
    ev.add_argument("--out", metavar="FOLDER", help="where to write the run files (default evals/runs/)")
    ev.add_argument("--format", choices=["text", "json"], default="text")
    ev.add_argument("--no-full-facts", dest="full_facts", action="store_false",
                    help="offline: leave out the drafts with each case's full facts")
    model = ev.add_argument_group("model path (--backend openai)")
    model.add_argument("--concurrency", type=int, default=4, metavar="N", help="cases in flight at once (default 4)")
    model.add_argument("--resume", metavar="RUN", help="a run id or journal file: finish that run, skipping its done cases")
    model.add_argument("--batch-write", metavar="FILE.jsonl", help="write the requests still needed as a Batch API input file")
    model.add_argument("--batch-read", metavar="RESULTS.jsonl", action="append",
                       help="answers from a Batch API output file (repeatable)")
    ev.set_defaults(run=_eval_command)
    _model_flags(ev)

    schema = commands.add_parser("schema", help="print a JSON schema")
    schema.add_argument("name", choices=["facts"])
    schema.set_defaults(run=_schema_command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # `poa critique x | head` closed the pipe: not an error
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
