"""The interface in English and Chinese: page strings and finding texts (corpus/i18n/*.toml)."""

from __future__ import annotations

import re
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


@lru_cache(maxsize=1)
def _notes_zh() -> tuple[tuple[re.Pattern, str], ...]:
    try:
        data = corpus.load("i18n/notes.zh.toml")
    except FileNotFoundError:
        return ()
    return tuple((re.compile(n["en"]), n["zh"]) for n in data.get("notes", []))


def _note(finding: Finding) -> str:
    """What the critic added after the rule's own message ("(model confidence 81%)"); empty if none."""
    from .rules import rule_by_id

    rule = rule_by_id(finding.rule)
    if rule is None or not finding.message.startswith(rule.message):
        return ""
    return finding.message[len(rule.message) :]


def note_zh(note: str) -> str:
    """A critic's note in Chinese (corpus/i18n/notes.zh.toml), or as written when it has no entry."""
    for pattern, zh in _notes_zh():
        m = pattern.match(note)
        if m:
            return zh.format(**m.groupdict())
    return note


def finding_text(finding: Finding, lang: str = "en") -> tuple[str, str]:
    """A finding's message and suggestion in `lang`; the rules' English when there is no translation.
    The note the critic added to the message (the model's confidence, an empty heading) is kept."""
    if lang == "zh":
        entry = _rules_zh().get(finding.rule)
        if entry:
            message = entry.get("message", finding.message) + note_zh(_note(finding))
            return message, entry.get("suggestion", finding.suggestion)
    return finding.message, finding.suggestion


def category_labels(lang: str = "en") -> dict[str, str]:
    return {k.removeprefix("category."): v.get(lang) or v["en"] for k, v in _strings().items() if k.startswith("category.")}
