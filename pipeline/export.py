"""Letters as files to download: plain text, Markdown and Word (.docx)."""

from __future__ import annotations

import io

from .letter import read as read_letter
from .models import SECTION_NAMES

SECTION_STYLE = "Heading 2"


def to_docx(text: str, title: str = "Plan of Action") -> bytes:
    """A Word document of the letter: its section headings as headings, every other line a paragraph."""
    from docx import Document  # python-docx, imported on use: only the download needs it

    letter = read_letter(text)
    heading_lines = {letter.text[h.start : h.body_start].strip() for h in letter.headings
                     if h.sections[0] in SECTION_NAMES}
    doc = Document()
    doc.core_properties.title = title
    for line in text.splitlines():
        stripped = line.strip()
        if stripped in heading_lines or stripped.lstrip("#").strip() in heading_lines:
            doc.add_heading(stripped.lstrip("#").strip(), level=2)
        else:
            doc.add_paragraph(line.lstrip("#").strip() if stripped.startswith("#") else line)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def to_markdown(text: str) -> str:
    """The letter with its section headings as Markdown headings."""
    letter = read_letter(text)
    starts = {h.start for h in letter.headings if h.sections[0] in SECTION_NAMES}
    out, offset = [], 0
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        lead = offset + len(line) - len(stripped)
        is_heading = stripped.strip() and lead in starts and not stripped.startswith("#")
        out.append(f"## {stripped}" if is_heading else line)
        offset += len(line)
    return "".join(out)
