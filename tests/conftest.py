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
