"""The interface in English and Chinese: page strings and finding texts (corpus/i18n/*.toml)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

from . import corpus

if TYPE_CHECKING:
    from .models import Finding

LANGUAGES = {"en": "English", "zh": "中文"}


@lru_cache(maxsize=1)
def _strings() -> dict:
    return corpus.load("i18n/ui.toml")


@lru_cache(maxsize=1)
def _rules_zh() -> dict:
    try:
        return corpus.load("i18n/rules.zh.toml")
    except FileNotFoundError:
        return {}


def t(key: str, lang: str = "en", **values) -> str:
    """The page string `key` in `lang` (English when no translation), formatted with `values`."""
    entry = _strings().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text


def finding_text(finding: Finding, lang: str = "en") -> tuple[str, str]:
    """A finding's message and suggestion in `lang`; the rules' English when there is no translation."""
    if lang == "zh":
        entry = _rules_zh().get(finding.rule)
        if entry:
            return entry.get("message", finding.message), entry.get("suggestion", finding.suggestion)
    return finding.message, finding.suggestion


def category_labels(lang: str = "en") -> dict[str, str]:
    return {k.removeprefix("category."): v.get(lang) or v["en"] for k, v in _strings().items() if k.startswith("category.")}
