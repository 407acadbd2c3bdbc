"""POA writer and reviewer: the pipeline every interface (CLI, app, evals) calls."""

from .critic import critique
from .models import Critique, Finding, Sections

__all__ = ["critique", "Critique", "Finding", "Sections"]
