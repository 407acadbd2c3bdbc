"""Prompts as files (prompts/*.toml), each with an id and a version that every logged call records."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def prompts_dir() -> Path:
    bundled = _PACKAGE / "_data" / "prompts"
    return bundled if bundled.is_dir() else _PACKAGE.parent / "prompts"


@dataclass(frozen=True)
class Prompt:
    id: str
    version: int
    system: str
    user: str

    def render(self, **values: str) -> tuple[str, str]:
        """System and user message. User text only ever goes into the user message."""
        return self.system, self.user.format(**values)


@lru_cache(maxsize=None)
def load_prompt(prompt_id: str) -> Prompt:
    path = prompts_dir() / f"{prompt_id}.toml"
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    if data.get("id") != prompt_id or not isinstance(data.get("version"), int):
        raise ValueError(f"{path}: needs id = {prompt_id!r} and an integer version")
    return Prompt(data["id"], data["version"], data["system"].strip(), data["user"].strip())
