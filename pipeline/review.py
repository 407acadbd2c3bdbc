"""The review as the page shows it: the letter with every finding marked where it stands."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Finding

# One colour per category, readable on white.
COLOURS = {
    "vague": "#fff3b0",
    "missing_evidence": "#ffd6a5",
    "blame_shifting": "#ffadad",
    "emotional_appeal": "#ffc6ff",
    "placeholder": "#bdb2ff",
    "over_admission": "#ff8fab",
    "future_only": "#a0c4ff",
    "missing_section": "#caffbf",
    "length": "#e0e0e0",
    "language": "#9bf6ff",
}


def highlight_html(text: str, findings: list[Finding], labels: dict[str, str] | None = None) -> str:
    """`text` as escaped HTML with each finding's span in a <mark> coloured by category; where spans
    overlap, the most severe finding colours the overlap and every finding is named in the tooltip."""
    from .models import severity_rank  # loaded with the findings; not needed to draw the first page

    labels = labels or {}
    spans = [f for f in findings if f.end > f.start]
    cuts = sorted({0, len(text), *(f.start for f in spans), *(f.end for f in spans)})
    out = []
    for a, b in zip(cuts, cuts[1:]):
        piece = html.escape(text[a:b])
        covering = sorted((f for f in spans if f.start <= a and b <= f.end), key=lambda f: severity_rank(f.severity))
        if not covering:
            out.append(piece)
            continue
        top = covering[0]
        tip = html.escape("; ".join(f"{labels.get(f.category, f.category)} ({f.severity})" for f in covering), quote=True)
        out.append(
            f'<mark class="poa-finding poa-{top.category}" data-category="{top.category}" title="{tip}" '
            f'style="background:{COLOURS.get(top.category, "#eee")};padding:0 1px;border-radius:2px">{piece}</mark>'
        )
    return (
        '<div class="poa-letter" style="white-space:pre-wrap;font-family:inherit;line-height:1.55;'
        'border:1px solid #ddd;border-radius:6px;padding:12px;max-height:520px;overflow:auto">'
        + "".join(out)
        + "</div>"
    )


def legend_html(labels: dict[str, str]) -> str:
    return " ".join(
        f'<span style="background:{COLOURS[c]};padding:1px 6px;border-radius:3px;margin-right:4px">{html.escape(labels.get(c, c))}</span>'
        for c in COLOURS
    )


def section_texts(text: str, section_spans) -> dict[str, str]:
    """Each section's body, as pasted into Seller Central's form fields."""
    out: dict[str, str] = {}
    for span in section_spans:
        body = text[span.body_start : span.body_end].strip()
        if body:
            out[span.name] = (out[span.name] + "\n" + body) if span.name in out else body
    return out
