"""The journal of a model-path evaluation run: one JSON line per finished case, written the moment it
finishes, so an interrupted run (Ctrl-C, a crash, a dead network) loses only the cases in flight.

The first line is a header naming the run and the settings it ran with. Every other line is a case:
its key (stage and case id), a fingerprint of everything its answer depends on (the case's text,
model, mode, server, prompt versions, rules version), and its output or its error. A resumed run
takes a case from the journal only when the fingerprint still matches; a line cut short by a crash
is ignored."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

SUFFIX = ".jsonl"


def fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:32]


class Journal:
    def __init__(self, path: Path, header: dict):
        self.path = Path(path)
        self.header = header

    @classmethod
    def create(cls, path: Path, header: dict) -> "Journal":
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("x", encoding="utf-8") as fh:  # never overwrite another run's journal
            fh.write(json.dumps({"journal": 1, **header}, ensure_ascii=False) + "\n")
        return cls(path, header)

    @classmethod
    def open(cls, ref: str, folder: Path) -> "Journal":
        """The journal named by a run id, a journal file, or the run file next to it; ValueError when
        there is none."""
        given = Path(ref)
        candidates = [given.with_suffix(SUFFIX)] if given.suffix in (".json", SUFFIX) else []
        candidates.append(folder / f"{ref}{SUFFIX}")
        for path in candidates:
            if path.is_file():
                lines = path.read_text(encoding="utf-8").splitlines()
                try:
                    header = json.loads(lines[0]) if lines else {}
                except json.JSONDecodeError:
                    header = {}
                if header.get("journal") != 1:
                    raise ValueError(f"{path} is not an evaluation journal")
                return cls(path, header)
        raise ValueError(f"no journal for {ref!r} (looked for {', '.join(str(p) for p in candidates)})")

    def entries(self) -> list[dict]:
        """Every complete case line, in the order written."""
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines()[1:]:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # the last line of a run killed mid-write
            if isinstance(entry, dict) and "key" in entry:
                out.append(entry)
        return out

    def append(self, entry: dict) -> None:
        # One write and a flush per case: what is on disk is always whole lines but the last.
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(entry, ensure_ascii=False) + "\n")
            fh.flush()
