"""Privacy: personal data is replaced by placeholders before text is sent to a model, and put back
in the answer. E-mail addresses, phone numbers, street addresses and personal names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PATTERNS = [
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("PHONE", re.compile(r"(?<![\w-])(?:\+\d{1,3}[\s-]?)?(?:\(\d{2,4}\)[\s-]?)?\d{3,4}[\s-]\d{3,4}(?:[\s-]\d{3,4})?(?![\w-])")),
    ("ADDRESS", re.compile(r"\b\d{1,5}\s+(?:[A-Z][a-z]+\s){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Boulevard|Blvd|Lane|Ln|Drive|Dr|Way|Court|Ct)\b\.?")),
    ("NAME", re.compile(r"\b(?:Mr|Ms|Mrs|Miss|Dr)\.?\s+[A-Z][a-z]+(?:\s[A-Z][a-z]+)?")),
]
# Order IDs look like phone numbers; they are not personal and the model must see them.
_ORDER_ID = re.compile(r"\d{3}-\d{7}-\d{7}")


@dataclass
class Redactor:
    names: list[str] = field(default_factory=list)  # known names (signer, owners) to hide as well
    mapping: dict[str, str] = field(default_factory=dict)  # placeholder -> original

    def _placeholder(self, kind: str, value: str) -> str:
        for key, original in self.mapping.items():
            if original == value:
                return key
        key = f"<<{kind}_{sum(1 for k in self.mapping if k.startswith('<<' + kind)) + 1}>>"
        self.mapping[key] = value
        return key

    def redact(self, text: str) -> str:
        for name in sorted({n for n in self.names if n and len(n) > 2}, key=len, reverse=True):
            text = text.replace(name, self._placeholder("NAME", name))
        for kind, pattern in _PATTERNS:
            def swap(m, kind=kind):
                if kind == "PHONE" and _ORDER_ID.fullmatch(m.group()):
                    return m.group()
                return self._placeholder(kind, m.group())
            text = pattern.sub(swap, text)
        return text

    def restore(self, value):
        """Put the originals back into a string, or into every string of a list, dict or model dump."""
        if isinstance(value, str):
            for key, original in self.mapping.items():
                value = value.replace(key, original)
            return value
        if isinstance(value, list):
            return [self.restore(v) for v in value]
        if isinstance(value, dict):
            return {k: self.restore(v) for k, v in value.items()}
        return value
