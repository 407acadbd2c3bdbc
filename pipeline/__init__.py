"""POA writer and reviewer: the pipeline every interface (CLI, app, evals) calls."""

import threading

from .critic import critique
from .drafter import draft, questions
from .models import Critique, Draft, Facts, Finding, Notice, Sections
from .notice import parse_notice

_PRELOAD = threading.Lock()
_preloaded = threading.Event()


def preload() -> None:
    """Load and compile the corpus (rules, lexicon, classifier, notice patterns) now rather than at
    the first letter. Safe from several threads: one loads, the others wait for it, none loads twice."""
    if _preloaded.is_set():
        return
    with _PRELOAD:
        if not _preloaded.is_set():
            critique("Root cause: loading the rules.")
            parse_notice("Your account was deactivated for a late shipment rate of 9%.")
            _preloaded.set()


__all__ = ["critique", "draft", "parse_notice", "preload", "questions", "Critique", "Draft", "Facts", "Finding",
           "Notice", "Sections"]
