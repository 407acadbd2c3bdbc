"""A real HTTP server that speaks enough of the OpenAI chat-completions protocol for tests.

The `openai` SDK (and `instructor` on top of it) talks plain HTTP to it, so nothing in the
client is mocked: request building, headers, retries, SSE parsing, error mapping and
timeouts are the real code paths.

    with FakeOpenAI() as server:
        server.queue(Reply(json={"name": "Ada", "age": 36}))
        client = openai.OpenAI(base_url=server.base_url, api_key="test-key", max_retries=0)
        ...
        assert server.requests[0]["model"] == "gpt-4o-mini"
        assert server.headers_seen[0]["authorization"] == "Bearer test-key"

What the "model" answers is scripted: each request pops the next `Reply` from the queue;
when the queue is empty, `server.default(request_dict)` decides (default: `{}` as JSON).
The shape of the answer follows the request, the way instructor's modes expect it:

* `tools` present (TOOLS / PARALLEL_TOOLS modes)   -> `message.tool_calls[0].function.arguments`
* `response_format` json_object / json_schema        -> JSON text in `message.content`
* otherwise (MD_JSON mode)                           -> JSON inside a ```json fenced block
* `stream: true`                                     -> Server-Sent Events, small deltas,
  `data: [DONE]` at the end, plus a usage chunk when `stream_options.include_usage` is set.
"""

from __future__ import annotations

import itertools
import json as _json
import socket
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

__all__ = ["FakeOpenAI", "Reply", "fake_openai"]

_MISSING: Any = object()

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("permission_error", None),
    404: ("invalid_request_error", "not_found"),
    409: ("conflict_error", None),
    422: ("invalid_request_error", None),
    429: ("rate_limit_error", "rate_limit_exceeded"),
    500: ("server_error", None),
    502: ("server_error", None),
    503: ("server_error", None),
}


@dataclass
class Reply:
    """One scripted answer of the fake model.

    json      -- the model's structured answer: a dict/list is json-dumped, a str is sent
                 verbatim (so tests can send INVALID JSON). It is placed where the request's
                 mode expects it (tool-call arguments, content, or a ```json block).
    content   -- raw assistant text, sent as `message.content` verbatim in every mode
                 (no tool call, no fence). Overrides `json`.
    status    -- HTTP status. Anything but 200 sends `body` (default: an OpenAI-style
                 error object) and `headers`.
    headers   -- extra response headers, e.g. {"retry-after": "1"}.
    body      -- raw response body (dict -> JSON, str/bytes as-is). With status 200 it
                 replaces the whole completion object.
    delay     -- seconds to sleep before answering (added to the server's fixed_delay).
    drop      -- close the connection without sending any response.
    finish_reason -- override ("length" makes instructor raise IncompleteOutputException).
    tool_name -- override the function name of the tool call (default: the requested one).
    chunk_size -- characters per streamed delta (default 8).
    """

    json: Any = _MISSING
    content: str | None = None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay: float = 0.0
    drop: bool = False
    finish_reason: str | None = None
    tool_name: str | None = None
    chunk_size: int = 8

    def text(self) -> str:
        """The structured answer as the string the model 'wrote'."""
        if self.json is _MISSING:
            return "{}"
        if isinstance(self.json, str):
            return self.json
        return _json.dumps(self.json)


def _default_reply(_request: dict) -> Reply:
    return Reply(json={})


def _tokens(text: str) -> int:
    return len(text) // 4


def _pieces(text: str, size: int) -> Iterator[str]:
    size = max(1, size)
    for i in range(0, len(text), size):
        yield text[i : i + size]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default backlog of 5 drops SYNs under a burst of concurrent clients
    fake: "FakeOpenAI"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (the timeout tests) closes its end while the answer is written:
        # expected here, and not worth a traceback on the console.
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API; the SDK pools connections
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - silence stderr
        pass

    # ----------------------------------------------------------------- plumbing
    def _send_bytes(self, status: int, payload: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-request-id", f"req_fake_{self.server.fake._next_id()}")
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _send_json(self, status: int, obj: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, _json.dumps(obj).encode(), "application/json", headers or {})

    def _send_error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        etype, code = _ERROR_TYPES.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
        self._send_json(status, {"error": {"message": message, "type": etype, "param": None, "code": code}}, headers)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _read_body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            return _json.loads(raw)
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}

    def _record_headers(self) -> None:
        self.server.fake._record(headers={k.lower(): v for k, v in self.headers.items()})

    # ----------------------------------------------------------------- routes
    def do_GET(self) -> None:  # noqa: N802
        self._record_headers()
        fake = self.server.fake
        path = self.path.split("?", 1)[0].rstrip("/")
        if fake.fixed_delay and fake._sleep(fake.fixed_delay):
            return self._drop()
        if path == "/v1/models":
            return self._send_json(200, {"object": "list", "data": [m for m in fake.models_payload()]})
        if path.startswith("/v1/models/"):
            name = path[len("/v1/models/") :]
            for model in fake.models_payload():
                if model["id"] == name:
                    return self._send_json(200, model)
        return self._send_error(404, f"Unknown path {self.path}")

    def do_POST(self) -> None:  # noqa: N802
        fake = self.server.fake
        request = self._read_body()
        fake._record(headers={k.lower(): v for k, v in self.headers.items()}, request=request)
        path = self.path.split("?", 1)[0].rstrip("/")
        if path != "/v1/chat/completions":
            return self._send_error(404, f"Unknown path {self.path}")
        fake._enter()
        try:
            try:
                reply = fake._next_reply(request)
            except Exception as exc:  # a broken scripted callable: tell the test, loudly
                return self._send_error(500, f"FakeOpenAI: scripted reply failed: {exc!r}")
            try:
                self._answer(request, reply)
            except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
                # The client gave up (timeout) while we were sleeping or streaming.
                self.close_connection = True
        finally:
            fake._leave()

    # ----------------------------------------------------------------- answers
    def _answer(self, request: dict, reply: Reply) -> None:
        fake = self.server.fake
        wait = reply.delay + fake.fixed_delay
        if wait > 0 and fake._sleep(wait):
            return self._drop()  # server is stopping
        if reply.drop:
            return self._drop()
        if reply.status != 200:
            if reply.body is None:
                return self._send_error(reply.status, f"Fake error {reply.status}", reply.headers)
            return self._send_raw(reply.status, reply.body, reply.headers)
        if reply.body is not None:
            return self._send_raw(200, reply.body, reply.headers)
        if not isinstance(request, dict) or "_raw" in request:
            return self._send_error(400, "Request body is not valid JSON")
        if request.get("stream"):
            return self._stream(request, reply)
        return self._send_json(200, fake.completion(request, reply), reply.headers)

    def _send_raw(self, status: int, body: Any, headers: dict[str, str]) -> None:
        if isinstance(body, bytes):
            return self._send_bytes(status, body, "application/json", headers)
        if isinstance(body, str):
            return self._send_bytes(status, body.encode(), "application/json", headers)
        return self._send_json(status, body, headers)

    def _stream(self, request: dict, reply: Reply) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", f"req_fake_{self.server.fake._next_id()}")
        for key, value in reply.headers.items():
            self.send_header(key, value)
        self.end_headers()
        for chunk in self.server.fake.chunks(request, reply):
            self._write_chunk(f"data: {_json.dumps(chunk)}\n\n".encode())
        self._write_chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class FakeOpenAI:
    """A threaded OpenAI-compatible HTTP server on 127.0.0.1 (free port by default).

    Attributes:
        base_url      "http://127.0.0.1:PORT/v1" -- pass to openai.OpenAI(base_url=...)
        requests      every parsed POST body (dict), in arrival order
        headers_seen  headers (lower-cased keys) of every request, GET included
        in_flight     chat-completion requests being answered right now
        max_in_flight the most that were ever answered at once (client concurrency)
        default       callable(request_dict) -> Reply, used when the queue is empty
        fixed_delay   seconds added to every reply (for benchmarks)
        models        model ids listed by GET /v1/models
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        default: Callable[[dict], Reply] | Reply | None = None,
        fixed_delay: float = 0.0,
        models: list[str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.default: Callable[[dict], Reply] | Reply = default or _default_reply
        self.fixed_delay = fixed_delay
        self.models = list(models or ["gpt-4o-mini", "gpt-4o", "fake-model"])
        self.requests: list[dict] = []
        self.headers_seen: list[dict[str, str]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._queue: deque[Reply | Callable[[dict], Reply]] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._stopping = threading.Event()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> "FakeOpenAI":
        if self._httpd is not None:
            return self
        self._stopping.clear()
        httpd = _Server((self.host, self.port), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name=f"FakeOpenAI:{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping on a delay
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> "FakeOpenAI":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    # ----------------------------------------------------------------- scripting
    def queue(self, *replies: Reply | Callable[[dict], Reply]) -> "FakeOpenAI":
        """Append replies (or callables request_dict -> Reply) answered in FIFO order."""
        with self._lock:
            self._queue.extend(replies)
        return self

    @property
    def pending(self) -> int:
        """Scripted replies not consumed yet."""
        with self._lock:
            return len(self._queue)

    def reset(self) -> None:
        """Forget queued replies, recorded requests/headers and the in-flight peak."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.headers_seen.clear()
            self.max_in_flight = self.in_flight

    @property
    def last_request(self) -> dict:
        with self._lock:
            return self.requests[-1]

    # ----------------------------------------------------------------- internals (handler side)
    def _record(self, *, headers: dict[str, str], request: Any = _MISSING) -> None:
        with self._lock:
            self.headers_seen.append(headers)
            if request is not _MISSING:
                self.requests.append(request)

    def _next_reply(self, request: dict) -> Reply:
        with self._lock:
            item = self._queue.popleft() if self._queue else self.default
        reply = item(request) if callable(item) and not isinstance(item, Reply) else item
        if not isinstance(reply, Reply):
            raise TypeError(f"scripted reply must be a Reply, got {type(reply).__name__}")
        return reply

    def _enter(self) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _leave(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _next_id(self) -> int:
        return next(self._ids)  # itertools.count is atomic under the GIL

    def _sleep(self, seconds: float) -> bool:
        """Sleep; True when the server is stopping (the handler should give up)."""
        return self._stopping.wait(seconds)

    def models_payload(self) -> list[dict]:
        return [{"id": m, "object": "model", "created": 1700000000, "owned_by": "fake"} for m in self.models]

    # ----------------------------------------------------------------- response building
    @staticmethod
    def _kind(request: dict) -> str:
        if request.get("tools") or request.get("functions"):
            return "tools"
        fmt = request.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
            return "json"
        return "markdown"

    @staticmethod
    def _tool_name(request: dict, reply: Reply) -> str:
        if reply.tool_name:
            return reply.tool_name
        choice = request.get("tool_choice")
        if isinstance(choice, dict):
            name = (choice.get("function") or {}).get("name")
            if name:
                return name
        for tool in request.get("tools") or []:
            name = (tool.get("function") or {}).get("name")
            if name:
                return name
        for fn in request.get("functions") or []:
            if fn.get("name"):
                return fn["name"]
        return "answer"

    @staticmethod
    def _prompt_tokens(request: dict) -> int:
        return _tokens(_json.dumps(request.get("messages", []))) + _tokens(_json.dumps(request.get("tools", [])))

    def _plan(self, request: dict, reply: Reply) -> tuple[str | None, dict | None, str]:
        """(content, tool_call or None, finish_reason) of the answer."""
        if reply.content is not None:
            return reply.content, None, reply.finish_reason or "stop"
        text = reply.text()
        kind = self._kind(request)
        if kind == "tools":
            call = {
                "id": f"call_fake_{self._next_id()}",
                "type": "function",
                "function": {"name": self._tool_name(request, reply), "arguments": text},
            }
            return None, call, reply.finish_reason or "tool_calls"
        if kind == "json":
            return text, None, reply.finish_reason or "stop"
        return f"```json\n{text}\n```", None, reply.finish_reason or "stop"

    def completion(self, request: dict, reply: Reply) -> dict:
        """The non-streaming chat.completion object for a request and a reply."""
        content, call, finish = self._plan(request, reply)
        message: dict[str, Any] = {"role": "assistant", "content": content, "refusal": None}
        if call is not None:
            message["tool_calls"] = [call]
        produced = (content or "") + (call["function"]["arguments"] if call else "")
        prompt_tokens = self._prompt_tokens(request)
        completion_tokens = _tokens(produced)
        return {
            "id": f"chatcmpl-fake-{self._next_id()}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", "fake-model"),
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def chunks(self, request: dict, reply: Reply) -> Iterator[dict]:
        """The chat.completion.chunk objects of a streamed answer (without [DONE])."""
        content, call, finish = self._plan(request, reply)
        base = {
            "id": f"chatcmpl-fake-{self._next_id()}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": request.get("model", "fake-model"),
            "system_fingerprint": "fp_fake",
        }
        options = request.get("stream_options") or {}
        include_usage = bool(options.get("include_usage"))

        def chunk(delta: dict, finish_reason: str | None = None) -> dict:
            out = dict(base, choices=[{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}])
            if include_usage:
                out["usage"] = None  # like the real API: null on every chunk but the last
            return out

        if call is not None:
            head = {"index": 0, "id": call["id"], "type": "function", "function": {"name": call["function"]["name"], "arguments": ""}}
            yield chunk({"role": "assistant", "content": None, "tool_calls": [head]})
            for piece in _pieces(call["function"]["arguments"], reply.chunk_size):
                yield chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
            produced = call["function"]["arguments"]
        else:
            yield chunk({"role": "assistant", "content": ""})
            for piece in _pieces(content or "", reply.chunk_size):
                yield chunk({"content": piece})
            produced = content or ""
        yield chunk({}, finish)
        if include_usage:
            prompt_tokens = self._prompt_tokens(request)
            completion_tokens = _tokens(produced)
            yield dict(
                base,
                choices=[],
                usage={
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            )


try:  # a ready-made pytest fixture: `from tests.fake_openai import fake_openai`
    import pytest

    @pytest.fixture
    def fake_openai() -> Iterator[FakeOpenAI]:
        with FakeOpenAI() as server:
            yield server

except ImportError:  # pragma: no cover - usable without pytest too
    pass
