"""Cases kept on disk: an embedded SQLite store of each case's notice, facts and every letter version
with its critique. Every change is committed at once, so a refresh or a killed server loses nothing."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the models (pydantic) load when a case is read or written, not with the case list
    from .models import Case, Critique, Facts, Notice

EXPORT_FORMAT = "poa-case/1"


class StoreError(Exception):
    """The case store cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class CaseSummary:
    """A case as the case list shows it."""

    id: str
    title: str
    mode: str
    status: str
    updated: str
    versions: int


def default_home() -> Path:
    """`POA_HOME` if set, else ~/.poa."""
    return Path(os.environ.get("POA_HOME") or Path.home() / ".poa")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# Schema changes as an ordered list: the database records how many have run (PRAGMA user_version).
MIGRATIONS = [
    """
    CREATE TABLE cases (
        id TEXT PRIMARY KEY, title TEXT NOT NULL, mode TEXT NOT NULL, status TEXT NOT NULL,
        created TEXT NOT NULL, updated TEXT NOT NULL,
        notice_text TEXT NOT NULL DEFAULT '', notice_json TEXT, facts_json TEXT
    );
    CREATE TABLE versions (
        case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE, number INTEGER NOT NULL,
        created TEXT NOT NULL, text TEXT NOT NULL, source TEXT NOT NULL, backend TEXT NOT NULL,
        critique_json TEXT, PRIMARY KEY (case_id, number)
    );
    """,
    # Text typed into a case's boxes and not yet checked (the pasted letter, an edit): kept on every
    # change so a refresh or a killed server does not lose it; a new version supersedes it.
    """
    CREATE TABLE typed (
        case_id TEXT NOT NULL REFERENCES cases(id) ON DELETE CASCADE, field TEXT NOT NULL,
        text TEXT NOT NULL, updated TEXT NOT NULL, PRIMARY KEY (case_id, field)
    );
    """,
]


class CaseStore:
    """The case database at `home/cases.sqlite3`."""

    def __init__(self, home: Path | str | None = None):
        self.home = Path(home) if home else default_home()
        self.path = self.home / "cases.sqlite3"
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"cannot create the case folder {self.home}: {exc.strerror or exc}") from exc
        with self._connect() as db:
            self._migrate(db)

    @contextmanager
    def _connect(self):
        try:
            db = sqlite3.connect(self.path, timeout=5)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the case database {self.path}: {exc}") from exc
        try:
            db.row_factory = sqlite3.Row
            db.execute("PRAGMA foreign_keys = ON")
            db.execute("PRAGMA journal_mode = WAL")
            yield db
            db.commit()
        except sqlite3.OperationalError as exc:
            db.rollback()
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreError(
                    f"the case database {self.path} is locked by another program; close it and try again "
                    "(nothing was lost)"
                ) from exc
            raise StoreError(f"the case database {self.path} cannot be used: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            db.rollback()
            raise StoreError(
                f"the case database {self.path} is damaged ({exc}). Your cases are still in that file; "
                f"move it aside (for example rename it to cases.damaged.sqlite3) to start a new one, "
                "and keep it for recovery."
            ) from exc
        finally:
            db.close()

    def _migrate(self, db) -> None:
        done = db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[done:], start=done + 1):
            db.executescript(script)
            db.execute(f"PRAGMA user_version = {number}")

    # --- writing ---------------------------------------------------------------------------------------

    def create(self, mode: str, title: str = "") -> str:
        case_id = uuid.uuid4().hex[:12]
        now = _now()
        with self._connect() as db:
            db.execute(
                "INSERT INTO cases (id, title, mode, status, created, updated) VALUES (?, ?, ?, 'open', ?, ?)",
                (case_id, title or ("New draft" if mode == "draft" else "New review"), mode, now, now),
            )
        return case_id

    def _touch(self, db, case_id: str, **fields) -> None:
        fields["updated"] = _now()
        assignments = ", ".join(f"{k} = ?" for k in fields)
        cur = db.execute(f"UPDATE cases SET {assignments} WHERE id = ?", (*fields.values(), case_id))
        if cur.rowcount == 0:
            raise StoreError(f"there is no case {case_id}; it may have been deleted")

    def save_notice(self, case_id: str, text: str, notice: Notice | None) -> None:
        with self._connect() as db:
            self._touch(db, case_id, notice_text=text, notice_json=notice.model_dump_json() if notice else None)

    def save_facts(self, case_id: str, facts: Facts) -> None:
        with self._connect() as db:
            self._touch(db, case_id, facts_json=facts.model_dump_json())

    def rename(self, case_id: str, title: str) -> None:
        with self._connect() as db:
            self._touch(db, case_id, title=title)

    def set_status(self, case_id: str, status: str) -> None:
        with self._connect() as db:
            self._touch(db, case_id, status=status)

    def add_version(self, case_id: str, text: str, critique: Critique | None, source: str,
                    backend: str = "offline") -> int:
        """Save a letter version; the text typed for the case (`keep_typed`) is then superseded."""
        with self._connect() as db:
            number = db.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE case_id = ?",
                                (case_id,)).fetchone()[0]
            self._touch(db, case_id)
            db.execute(
                "INSERT INTO versions (case_id, number, created, text, source, backend, critique_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (case_id, number, _now(), text, source, backend, critique.model_dump_json() if critique else None),
            )
            db.execute("DELETE FROM typed WHERE case_id = ?", (case_id,))
        return number

    def keep_typed(self, case_id: str, field: str, text: str) -> None:
        """Keep what was typed in one of the case's boxes ("letter", "edit") before it is checked."""
        with self._connect() as db:
            self._touch(db, case_id)
            db.execute("INSERT INTO typed (case_id, field, text, updated) VALUES (?, ?, ?, ?) "
                       "ON CONFLICT (case_id, field) DO UPDATE SET text = excluded.text, updated = excluded.updated",
                       (case_id, field, text, _now()))

    def delete(self, case_id: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM cases WHERE id = ?", (case_id,))

    # --- reading ---------------------------------------------------------------------------------------

    def list(self) -> list[CaseSummary]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT c.id, c.title, c.mode, c.status, c.updated, COUNT(v.number) AS versions FROM cases c "
                "LEFT JOIN versions v ON v.case_id = c.id GROUP BY c.id ORDER BY c.updated DESC, c.id"
            ).fetchall()
        return [CaseSummary(**dict(r)) for r in rows]

    def typed(self, case_id: str) -> dict[str, str]:
        """What was typed in the case's boxes since its last version, by box."""
        with self._connect() as db:
            rows = db.execute("SELECT field, text FROM typed WHERE case_id = ?", (case_id,)).fetchall()
        return {r["field"]: r["text"] for r in rows}

    def get(self, case_id: str) -> Case:
        from .models import Case, Critique, Facts, Notice, Version

        with self._connect() as db:
            row = db.execute("SELECT * FROM cases WHERE id = ?", (case_id,)).fetchone()
            if row is None:
                raise StoreError(f"there is no case {case_id}; it may have been deleted")
            versions = db.execute("SELECT * FROM versions WHERE case_id = ? ORDER BY number", (case_id,)).fetchall()
        return Case(
            id=row["id"], title=row["title"], mode=row["mode"], status=row["status"], created=row["created"],
            updated=row["updated"], notice_text=row["notice_text"],
            notice=Notice.model_validate_json(row["notice_json"]) if row["notice_json"] else None,
            facts=Facts.model_validate_json(row["facts_json"]) if row["facts_json"] else None,
            versions=[
                Version(number=v["number"], created=v["created"], text=v["text"], source=v["source"],
                        backend=v["backend"],
                        critique=Critique.model_validate_json(v["critique_json"]) if v["critique_json"] else None)
                for v in versions
            ],
        )

    # --- moving cases between machines ---------------------------------------------------------------------

    def export(self, case_id: str) -> str:
        """The whole case as JSON text."""
        case = self.get(case_id)
        return json.dumps({"format": EXPORT_FORMAT, "case": case.model_dump(mode="json")}, ensure_ascii=False, indent=2)

    def import_json(self, text: str) -> str:
        """Add a case exported by `export`; returns the new case id. Raises StoreError on a bad file."""
        from pydantic import ValidationError

        from .models import Case

        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StoreError(f"the file is not JSON (line {exc.lineno}: {exc.msg})") from exc
        if not isinstance(data, dict) or data.get("format") != EXPORT_FORMAT:
            raise StoreError(f"the file is not a case exported by this tool (expected format {EXPORT_FORMAT})")
        try:
            case = Case.model_validate(data["case"])
        except (KeyError, ValidationError) as exc:
            raise StoreError(f"the case in the file is incomplete or damaged: {exc}") from exc
        new_id = self.create(case.mode, case.title)
        if case.notice_text or case.notice:
            self.save_notice(new_id, case.notice_text, case.notice)
        if case.facts:
            self.save_facts(new_id, case.facts)
        for v in case.versions:
            self.add_version(new_id, v.text, v.critique, v.source, v.backend)
        if case.status != "open":
            self.set_status(new_id, case.status)
        return new_id
