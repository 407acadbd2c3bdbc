"""Token counts before a request is sent, budgets per step, and splitting an input over budget.

tiktoken fetches its vocabularies on first use; without network that fails. Then counts are
approximate and say so (`exact=False`), and nothing waits more than a few seconds for a vocabulary."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

_CJK = re.compile(r"[\u3400-\u9fff]")
_WORD = re.compile(r"\S+")
LOAD_TIMEOUT = 5.0  # seconds to wait for a vocabulary before counting approximately

# Input budgets per step, in tokens (the model's window is larger; these keep calls cheap and fast).
BUDGETS = {"critique": 6000, "draft": 6000, "notice": 4000, "revise": 6000, "rejection": 6000}
# Estimated price per million tokens (input, output), US dollars; unknown models cost 0 and say so.
PRICES = {"gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.00), "gpt-4.1-mini": (0.40, 1.60),
          "deepseek-chat": (0.27, 1.10), "qwen-plus": (0.40, 1.20)}


@dataclass(frozen=True)
class TokenCount:
    tokens: int
    exact: bool  # False: tiktoken's vocabulary could not be had; this is an estimate


@lru_cache(maxsize=8)
def encoding_for(model: str):
    """The tiktoken encoding for a model, or None when it cannot be loaded within LOAD_TIMEOUT."""
    box: dict = {}

    def load() -> None:
        try:
            import tiktoken

            try:
                box["enc"] = tiktoken.encoding_for_model(model)
            except KeyError:
                box["enc"] = tiktoken.get_encoding("o200k_base")
        except Exception as exc:  # no network, no cache, no package: count approximately
            box["error"] = exc

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(LOAD_TIMEOUT)
    return box.get("enc")


def approximate(text: str) -> int:
    """About 1.3 tokens per English word and one per Chinese character."""
    cjk = len(_CJK.findall(text))
    words = len(_WORD.findall(_CJK.sub(" ", text)))
    return int(words * 1.3 + cjk) + 1


def count(text: str, model: str = "gpt-4o-mini") -> TokenCount:
    enc = encoding_for(model)
    if enc is None:
        return TokenCount(approximate(text), False)
    return TokenCount(len(enc.encode(text, disallowed_special=())), True)


def cost(model: str, tokens_in: int, tokens_out: int) -> float:
    price_in, price_out = PRICES.get(model, (0.0, 0.0))
    return round((tokens_in * price_in + tokens_out * price_out) / 1_000_000, 6)


def split(text: str, budget: int, model: str = "gpt-4o-mini") -> list[str]:
    """Pieces of `text` each within `budget` tokens, cut by section, then paragraph, then sentence."""
    if count(text, model).tokens <= budget:
        return [text]
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    separators = ["\n\n\n", "\n\n", "\n", ". ", "。", " ", ""]
    enc = encoding_for(model)
    if enc is not None:
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=budget, chunk_overlap=0, separators=separators,
            length_function=lambda s: len(enc.encode(s, disallowed_special=())),
        )
    else:
        splitter = RecursiveCharacterTextSplitter(chunk_size=budget, chunk_overlap=0, separators=separators,
                                                  length_function=approximate)
    return splitter.split_text(text)
