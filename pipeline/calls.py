"""The call log and the answer cache of the LLM backend, in SQLite under POA_HOME.

Each call records step, prompt id and version, model, tokens in and out, latency, estimated cost
and outcome. Never the key, nor any part of it."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

MIGRATIONS = [
    """
    CREATE TABLE calls (
        id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, step TEXT NOT NULL,
        prompt_id TEXT NOT NULL, prompt_version INTEGER NOT NULL, model TEXT NOT NULL, mode TEXT NOT NULL,
        tokens_in INTEGER NOT NULL, tokens_out INTEGER NOT NULL, exact_tokens INTEGER NOT NULL,
        latency_ms INTEGER NOT NULL, cost_usd REAL NOT NULL, outcome TEXT NOT NULL, cached INTEGER NOT NULL
    );
    CREATE TABLE cache (key TEXT PRIMARY KEY, at TEXT NOT NULL, answer TEXT NOT NULL);
    """,
]


class CallLog:
    def __init__(self, home: Path | str):
        self.path = Path(home) / "calls.sqlite3"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._db() as db:
            done = db.execute("PRAGMA user_version").fetchone()[0]
            for number, script in enumerate(MIGRATIONS[done:], start=done + 1):
                db.executescript(script)
                db.execute(f"PRAGMA user_version = {number}")

    def _db(self):
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def record(self, **call) -> None:
        row = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "cached": 0, **call}
        with self._lock, self._db() as db:
            db.execute(
                "INSERT INTO calls (at, step, prompt_id, prompt_version, model, mode, tokens_in, tokens_out, "
                "exact_tokens, latency_ms, cost_usd, outcome, cached) VALUES (:at, :step, :prompt_id, "
                ":prompt_version, :model, :mode, :tokens_in, :tokens_out, :exact_tokens, :latency_ms, :cost_usd, "
                ":outcome, :cached)",
                row,
            )

    def rows(self) -> list[dict]:
        with self._db() as db:
            return [dict(r) for r in db.execute("SELECT * FROM calls ORDER BY id")]

    @staticmethod
    def key(*parts) -> str:
        return hashlib.sha256(json.dumps(parts, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    def cached(self, key: str) -> str | None:
        with self._db() as db:
            row = db.execute("SELECT answer FROM cache WHERE key = ?", (key,)).fetchone()
        return row["answer"] if row else None

    def store(self, key: str, answer: str) -> None:
        with self._lock, self._db() as db:
            db.execute("INSERT OR REPLACE INTO cache (key, at, answer) VALUES (?, ?, ?)",
                       (key, datetime.now(timezone.utc).isoformat(timespec="seconds"), answer))
