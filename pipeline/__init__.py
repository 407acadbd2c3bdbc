"""POA writer and reviewer: the pipeline every interface (CLI, app, evals) calls.

The names below load their modules on first use, so an interface that starts by drawing a page
does not wait for the rules to be read: `from pipeline import critique` works as usual."""

import importlib
import sys
import threading

_HOME = {
    "critique": "critic",
    "draft": "drafter",
    "questions": "drafter",
    "parse_notice": "notice",
    "Critique": "models",
    "Draft": "models",
    "Facts": "models",
    "Finding": "models",
    "Notice": "models",
    "Sections": "models",
}

_PRELOAD = threading.Lock()
_preloaded = threading.Event()


def __getattr__(name: str):
    if name not in _HOME:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value


def preload() -> None:
    """Load and compile the corpus (rules, lexicon, classifier, notice patterns) now rather than at
    the first letter. Safe from several threads: one loads, the others wait for it, none loads twice."""
    if _preloaded.is_set():
        return
    this = sys.modules[__name__]
    with _PRELOAD:
        if not _preloaded.is_set():
            this.critique("Root cause: loading the rules.")
            this.parse_notice("Your account was deactivated for a late shipment rate of 9%.")
            _preloaded.set()


__all__ = ["preload", *_HOME]
