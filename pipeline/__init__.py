"""POA writer and reviewer: the pipeline every interface (CLI, app, evals) calls."""

from .critic import critique
from .drafter import draft, questions
from .models import Critique, Draft, Facts, Finding, Notice, Sections
from .notice import parse_notice

__all__ = ["critique", "draft", "parse_notice", "questions", "Critique", "Draft", "Facts", "Finding", "Notice", "Sections"]
