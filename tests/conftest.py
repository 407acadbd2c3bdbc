import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_CACHE = ROOT.parent / "shared" / "tiktoken-cache"
if _CACHE.is_dir():
    # tiktoken downloads vocabularies at first use; the machine has no internet, the cache has them.
    os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(_CACHE))


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def cached_critique():
    """`critique`, remembered per corpus and text for the whole run: the development-set tests and the
    regression gate score the same labelled letters (over 3,000), and critiquing them takes half a minute."""
    from pipeline import corpus, critique

    made = {}

    def cached(text: str):
        key = (corpus.corpus_dir(), text)
        if key not in made:
            made[key] = critique(text)
        return made[key]

    return cached
