"""The `poa` command line: `poa critique FILE [--format text|json] [--fail-on SEVERITY]`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence

from .critic import critique
from .inputs import InputError, read_text
from .letter import read as read_letter
from .models import SEVERITIES, Critique

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


def _critique_command(args: argparse.Namespace) -> int:
    try:
        text = read_text(args.file)
    except InputError as exc:
        print(f"poa critique: {exc}", file=sys.stderr)
        return 2
    result = critique(text)
    if args.format == "json":
        json.dump(result.model_dump(mode="json"), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        name = "<stdin>" if args.file == "-" else args.file
        sys.stdout.write(format_text(result, text, name, _Style(_use_colour(args.color, sys.stdout))))
    if args.fail_on and result.at_or_above(args.fail_on):
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="poa", description="Write and review Amazon Plans of Action, offline.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    crit = commands.add_parser("critique", help="review a Plan of Action line by line")
    crit.add_argument("file", metavar="FILE", help="the letter as a text file, or - for standard input")
    crit.add_argument("--format", choices=["text", "json"], default="text")
    crit.add_argument("--fail-on", choices=list(SEVERITIES), help="exit 1 when a finding at or above this severity exists")
    crit.add_argument("--color", choices=["auto", "always", "never"], default="auto", help="colour in text output")
    crit.set_defaults(run=_critique_command)
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
