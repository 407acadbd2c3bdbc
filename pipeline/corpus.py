"""Where the data lives: rules, lexicons, section headings and playbooks, read from `corpus/`."""

from __future__ import annotations

import hashlib
import os
import tomllib
from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def corpus_dir() -> Path:
    """`POA_CORPUS` if set, else the copy inside an installed wheel, else the checkout's `corpus/`."""
    return _corpus_dir(os.environ.get("POA_CORPUS") or None)


@lru_cache(maxsize=8)
def _corpus_dir(override: str | None) -> Path:
    # Resolved once per setting: the critic asks for every letter, and a file-system check costs
    # more than reading its (cached) scoring table.
    if override:
        return Path(override)
    bundled = _PACKAGE / "_data" / "corpus"
    return bundled if bundled.is_dir() else _PACKAGE.parent / "corpus"


@lru_cache(maxsize=None)
def _load(path: Path) -> dict:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def load(relative: str) -> dict:
    """Parse one TOML file under the corpus (cached)."""
    return _load(corpus_dir() / relative)


def load_all(folder: str) -> dict[str, dict]:
    """Every TOML file in a corpus folder, keyed by file stem, in name order."""
    return {p.stem: _load(p) for p in sorted((corpus_dir() / folder).glob("*.toml"))}


def fingerprint(folder: str) -> str:
    """A short hash of a corpus folder's files, recorded with results so runs can be compared."""
    digest = hashlib.sha256()
    for path in sorted(p for p in (corpus_dir() / folder).rglob("*") if p.suffix in (".toml", ".json")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
