"""Reading what the user gives: a file path or standard input, as text, with clear refusals."""

from __future__ import annotations

import sys
from pathlib import Path

MAX_BYTES = 5 * 1024 * 1024  # a Plan of Action is a few kilobytes; 5 MB is certainly not one


class InputError(Exception):
    """The input cannot be used; the message says why and what to do."""


def decode(data: bytes, name: str = "input") -> str:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030 as Chinese Windows saves."""
    if len(data) > MAX_BYTES:
        raise InputError(f"{name} is {len(data) / 1_048_576:.1f} MB; a Plan of Action is a few KB. Paste only the letter.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise InputError(f"{name} says it is UTF-16 but is not valid UTF-16: {exc.reason}") from exc
    if b"\x00" in data[:8192]:
        raise InputError(f"{name} looks like a binary file (it contains NUL bytes), not text. Save the letter as plain text (.txt) and try again.")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{name} is not UTF-8 or GB18030 text. Save it as UTF-8 text and try again.")


def read_text(source: str) -> str:
    """The text of a file path, or of standard input when `source` is "-"; non-empty or InputError."""
    if source == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        name = "standard input"
    else:
        path = Path(source)
        name = str(path)
        if not path.exists():
            raise InputError(f"{name}: no such file")
        if path.is_dir():
            raise InputError(f"{name} is a folder; give the letter's file")
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_BYTES + 1)
        except OSError as exc:
            raise InputError(f"{name}: cannot read it ({exc.strerror or exc})") from exc
    text = decode(data, name)
    if not text.strip():
        raise InputError(f"{name} is empty; there is nothing to check")
    return text


MAX_PASTE = 200_000  # characters; a POA or a notice is a few thousand


def paste_problem(text: str) -> str | None:
    """Why pasted text cannot be used ("empty", "too_long", "binary"), or None when it can."""
    if not text or not text.strip():
        return "empty"
    if len(text) > MAX_PASTE:
        return "too_long"
    controls = sum(1 for c in text[:10_000] if ord(c) < 32 and c not in "\n\r\t")
    if "\x00" in text or controls > max(10, len(text[:10_000]) // 20):
        return "binary"
    return None
