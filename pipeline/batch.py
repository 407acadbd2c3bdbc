"""The OpenAI Batch API for evaluation runs too large for live calls: the requests written as a
Batch input file, and the Batch output file read back as the answers.

Nothing here builds a request. The LLM backend runs exactly as it does live, through instructor and
the openai client; only the HTTP transport under the client is replaced. That transport keeps each
request it is handed (the body the live path would POST, byte for byte, in whatever instructor
mode is set) and, when the Batch output has the answer to that body, hands the answer back as the
HTTP response. So the requests match the live ones by construction, and the answers are parsed and
validated by the same response models. (instructor's own `instructor.batch` builds a different
request: a strict json_schema response format with its own max_tokens and temperature.)

A request is matched to its answer by a digest of its body, carried in the custom_id. A case whose
next call depends on an earlier answer (a draft, then the critique of that draft) needs one more
round: its next request is written to the following Batch input file."""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from pathlib import Path

URL = "/v1/chat/completions"
# Providers cap custom_id at 64 characters; the digest after '#' is what matching uses.
_ID_KEY_CHARS = 40
_ID_DIGEST_CHARS = 20


class Pending(Exception):
    """The request was kept for a Batch input file; there is no answer to it yet."""


def digest(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def custom_id(key: str, body: dict) -> str:
    return f"{key[:_ID_KEY_CHARS]}#{digest(body)[:_ID_DIGEST_CHARS]}"


def request_line(key: str, body: dict) -> dict:
    """One line of a Batch input file for a chat-completions request body."""
    return {"custom_id": custom_id(key, body), "method": "POST", "url": URL, "body": body}


def write_requests(lines: list[dict], path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    seen, out = set(), []
    for line in lines:
        if line["custom_id"] not in seen:  # the Batch API refuses a file with a repeated custom_id
            seen.add(line["custom_id"])
            out.append(json.dumps(line, ensure_ascii=False))
    path.write_text("".join(s + "\n" for s in out), encoding="utf-8")
    return path


def read_results(paths: list[Path]) -> dict[str, tuple[int, dict]]:
    """Answers by request digest from Batch output (or error) files: (HTTP status, body).
    A request the Batch API could not run becomes a 500 carrying its error message.
    ValueError names the file and line that is not a Batch output line."""
    answers: dict[str, tuple[int, dict]] = {}
    for path in paths:
        for number, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            try:
                line = json.loads(raw)
                key = line["custom_id"].rpartition("#")[2]
            except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
                raise ValueError(f"{path}:{number}: not a Batch output line ({exc})") from exc
            response, error = line.get("response"), line.get("error")
            if response and isinstance(response.get("body"), dict):
                answers[key] = (int(response.get("status_code") or 200), response["body"])
            else:
                error = error or {"message": "no response in the Batch output"}
                answers[key] = (500, {"error": {"message": f"batch: {error.get('code') or 'error'}: "
                                                           f"{error.get('message', '')}".strip(),
                                                "type": "server_error", "param": None, "code": error.get("code")}})
    return answers


class Transport:
    """An HTTP transport for the openai client: answers from the Batch output, or keeps the request.

    Kept requests are per thread, so concurrent cases each collect their own."""

    def __init__(self, answers: dict[str, tuple[int, dict]] | None = None):
        self.answers = answers or {}
        self._local = threading.local()

    def handle_request(self, request):
        body = json.loads(request.read())
        found = self.answers.get(digest(body)[:_ID_DIGEST_CHARS])
        if found is None:
            self._kept().append(body)
            raise Pending("no Batch answer to this request yet")
        # The response type of whichever HTTP package the openai client runs on (httpx or httpx2).
        http = sys.modules[type(request).__module__.partition(".")[0]]
        status, payload = found
        return http.Response(status, json=payload, request=request)

    def close(self) -> None:
        pass

    def _kept(self) -> list[dict]:
        if not hasattr(self._local, "kept"):
            self._local.kept = []
        return self._local.kept

    def holding(self) -> bool:
        """True when this thread's last request was kept, not answered."""
        return bool(self._kept())

    def take(self) -> list[dict]:
        """The request bodies this thread kept since the last take."""
        kept, self._local.kept = self._kept(), []
        return kept


def attach(backend, transport: Transport) -> None:
    """Route the backend's model calls through `transport` instead of the network. No re-asks: a
    re-ask would be a request nobody has sent yet, so an answer that fails validation is the case's
    error."""
    import instructor
    import openai

    from .llm import MODES

    backend.settings = backend.settings.model_copy(update={"max_retries": 0})
    backend.client = instructor.from_openai(
        openai.OpenAI(api_key="batch", base_url=backend.settings.base_url or "https://api.openai.com/v1",
                      max_retries=0, http_client=openai.DefaultHttpxClient(transport=transport)),
        mode=MODES[backend.settings.mode],
    )
