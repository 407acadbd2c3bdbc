"""The fake OpenAI server, exercised by the REAL openai SDK and instructor over HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request

import pytest

openai = pytest.importorskip("openai")
instructor = pytest.importorskip("instructor")

from instructor.core.exceptions import InstructorRetryException  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from tests.fake_openai import FakeOpenAI, Reply, fake_openai  # noqa: E402,F401 - fixture

MODEL = "gpt-4o-mini"
ADA = {"name": "Ada", "age": 36}
MESSAGES = [{"role": "user", "content": "Extract: Ada is 36."}]


class Person(BaseModel):
    name: str
    age: int


def _client(server: FakeOpenAI, **kwargs) -> "openai.OpenAI":
    kwargs.setdefault("max_retries", 0)
    return openai.OpenAI(base_url=server.base_url, api_key="test-key", **kwargs)


def _async_client(server: FakeOpenAI, **kwargs) -> "openai.AsyncOpenAI":
    kwargs.setdefault("max_retries", 0)
    return openai.AsyncOpenAI(base_url=server.base_url, api_key="test-key", **kwargs)


def _instructor(server: FakeOpenAI, mode=None, **kwargs):
    return instructor.from_openai(_client(server, **kwargs), mode=mode or instructor.Mode.TOOLS)


# --------------------------------------------------------------------------- lifecycle


def test_start_stop_and_context_manager():
    server = FakeOpenAI().start()
    try:
        assert server.base_url.startswith("http://127.0.0.1:")
        assert server.base_url.endswith("/v1")
        assert server.port > 0
    finally:
        server.stop()
    server.stop()  # idempotent
    with FakeOpenAI() as a, FakeOpenAI() as b:
        assert a.port != b.port


def test_models_endpoint(fake_openai):
    ids = [m.id for m in _client(fake_openai).models.list()]
    assert "gpt-4o-mini" in ids
    with urllib.request.urlopen(fake_openai.base_url + "/models", timeout=5) as resp:
        assert json.load(resp)["object"] == "list"


# --------------------------------------------------------------------------- instructor modes


@pytest.mark.parametrize(
    "mode, expect",
    [
        (instructor.Mode.TOOLS, "tools"),
        (instructor.Mode.JSON, "json_object"),
        (instructor.Mode.JSON_SCHEMA, "json_schema"),
        (instructor.Mode.MD_JSON, "plain"),
    ],
)
def test_each_instructor_mode_returns_the_parsed_model(fake_openai, mode, expect):
    fake_openai.queue(Reply(json=ADA))
    client = _instructor(fake_openai, mode)
    person, completion = client.chat.completions.create_with_completion(
        model=MODEL, response_model=Person, messages=MESSAGES, max_retries=0
    )
    assert person.model_dump() == ADA
    usage = completion.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens

    request = fake_openai.requests[-1]
    assert request["model"] == MODEL
    if expect == "tools":
        assert request["tool_choice"]["function"]["name"] == "Person"
        assert completion.choices[0].finish_reason == "tool_calls"
        assert json.loads(completion.choices[0].message.tool_calls[0].function.arguments) == ADA
    elif expect == "plain":
        assert "tools" not in request and "response_format" not in request
        assert completion.choices[0].message.content.startswith("```json")
    else:
        assert request["response_format"]["type"] == expect
        assert json.loads(completion.choices[0].message.content) == ADA


def test_plain_sdk_tool_call_shape(fake_openai):
    fake_openai.queue(Reply(json=ADA))
    tools = [{"type": "function", "function": {"name": "extract", "parameters": {"type": "object"}}}]
    completion = _client(fake_openai).chat.completions.create(
        model=MODEL, messages=MESSAGES, tools=tools, tool_choice="auto"
    )
    choice = completion.choices[0]
    assert completion.object == "chat.completion"
    assert choice.finish_reason == "tool_calls"
    call = choice.message.tool_calls[0]
    assert call.type == "function" and call.function.name == "extract"
    assert json.loads(call.function.arguments) == ADA
    assert completion.usage.completion_tokens == len(json.dumps(ADA)) // 4


def test_default_answers_when_queue_is_empty(fake_openai):
    completion = _client(fake_openai).chat.completions.create(
        model=MODEL, messages=MESSAGES, response_format={"type": "json_object"}
    )
    assert json.loads(completion.choices[0].message.content) == {}

    fake_openai.default = lambda request: Reply(json={"name": request["model"], "age": 1})
    person = _instructor(fake_openai).chat.completions.create(
        model="some-model", response_model=Person, messages=MESSAGES, max_retries=0
    )
    assert person.model_dump() == {"name": "some-model", "age": 1}


# --------------------------------------------------------------------------- streaming


def test_sdk_streaming_yields_small_deltas_and_usage(fake_openai):
    text = "Dear Seller Performance team, here is our plan."
    fake_openai.queue(Reply(content=text, chunk_size=5))
    stream = _client(fake_openai).chat.completions.create(
        model=MODEL, messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    deltas = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(deltas) >= 5
    assert "".join(deltas) == text
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["stop"]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == len(text) // 4
    assert fake_openai.requests[-1]["stream"] is True


def test_sdk_streaming_without_usage_option_has_no_usage_chunk(fake_openai):
    fake_openai.queue(Reply(json=ADA))
    chunks = list(
        _client(fake_openai).chat.completions.create(
            model=MODEL, messages=MESSAGES, stream=True, response_format={"type": "json_object"}
        )
    )
    assert all(c.choices for c in chunks)
    assert json.loads("".join(c.choices[0].delta.content or "" for c in chunks)) == ADA


def test_sdk_streaming_tool_call_arguments(fake_openai):
    fake_openai.queue(Reply(json=ADA, chunk_size=3))
    tools = [{"type": "function", "function": {"name": "extract", "parameters": {"type": "object"}}}]
    chunks = list(
        _client(fake_openai).chat.completions.create(
            model=MODEL,
            messages=MESSAGES,
            tools=tools,
            tool_choice={"type": "function", "function": {"name": "extract"}},
            stream=True,
        )
    )
    calls = [c.choices[0].delta.tool_calls[0] for c in chunks if c.choices[0].delta.tool_calls]
    assert calls[0].function.name == "extract" and calls[0].id
    assert len(calls) > 5
    assert json.loads("".join(c.function.arguments or "" for c in calls)) == ADA
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


@pytest.mark.parametrize("mode", [instructor.Mode.TOOLS, instructor.Mode.JSON, instructor.Mode.MD_JSON])
def test_instructor_async_create_partial_yields_partials(fake_openai, mode):
    fake_openai.queue(Reply(json={"name": "Ada Lovelace", "age": 36}, chunk_size=4))

    async def run():
        async with _async_client(fake_openai) as raw:
            client = instructor.from_openai(raw, mode=mode)
            return [
                p.model_dump()
                async for p in client.chat.completions.create_partial(
                    model=MODEL, response_model=Person, messages=MESSAGES, max_retries=0
                )
            ]

    partials = asyncio.run(run())
    assert len(partials) > 3
    assert partials[-1] == {"name": "Ada Lovelace", "age": 36}
    assert any(p["name"] and p["name"] != "Ada Lovelace" for p in partials)  # really incremental
    assert fake_openai.requests[-1]["stream"] is True


def test_instructor_create_iterable_stream(fake_openai):
    fake_openai.queue(Reply(json={"tasks": [ADA, {"name": "Grace", "age": 85}]}, chunk_size=6))
    client = _instructor(fake_openai, instructor.Mode.TOOLS)
    people = list(
        client.chat.completions.create_iterable(model=MODEL, response_model=Person, messages=MESSAGES, max_retries=0)
    )
    assert [p.name for p in people] == ["Ada", "Grace"]


# --------------------------------------------------------------------------- faults


def test_429_raises_rate_limit_error(fake_openai):
    fake_openai.queue(Reply(status=429, headers={"retry-after": "1"}, body={"error": {"message": "slow down"}}))
    with pytest.raises(openai.RateLimitError) as info:
        _client(fake_openai).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert info.value.status_code == 429
    assert info.value.response.headers["retry-after"] == "1"
    assert "slow down" in str(info.value)


def test_429_under_instructor_is_wrapped_not_reasked(fake_openai):
    fake_openai.queue(Reply(status=429, headers={"retry-after": "1"}), Reply(json=ADA))
    client = _instructor(fake_openai)
    with pytest.raises(InstructorRetryException) as info:
        client.chat.completions.create(model=MODEL, response_model=Person, messages=MESSAGES, max_retries=2)
    assert isinstance(info.value.__cause__, openai.RateLimitError)
    assert info.value.n_attempts == 1  # instructor only re-asks on parse/validation errors
    assert len(fake_openai.requests) == 1 and fake_openai.pending == 1


def test_sdk_retries_429_honouring_retry_after_ms(fake_openai):
    fake_openai.queue(Reply(status=429, headers={"retry-after-ms": "10"}), Reply(json=ADA))
    person = _instructor(fake_openai, max_retries=1).chat.completions.create(
        model=MODEL, response_model=Person, messages=MESSAGES, max_retries=0
    )
    assert person.name == "Ada"
    assert [h["x-stainless-retry-count"] for h in fake_openai.headers_seen] == ["0", "1"]


def test_500_raises_internal_server_error(fake_openai):
    fake_openai.queue(Reply(status=500), Reply(status=500))
    with pytest.raises(openai.InternalServerError) as info:
        _client(fake_openai).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert info.value.status_code == 500
    with pytest.raises(InstructorRetryException) as info:
        _instructor(fake_openai).chat.completions.create(model=MODEL, response_model=Person, messages=MESSAGES)
    assert isinstance(info.value.__cause__, openai.InternalServerError)


def test_delay_beyond_client_timeout_raises_timeout(fake_openai):
    fake_openai.queue(Reply(delay=2, json=ADA), Reply(delay=2, json=ADA))
    started = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        _client(fake_openai, timeout=0.2).chat.completions.create(model=MODEL, messages=MESSAGES)
    with pytest.raises(InstructorRetryException) as info:
        _instructor(fake_openai, timeout=0.2).chat.completions.create(
            model=MODEL, response_model=Person, messages=MESSAGES
        )
    assert isinstance(info.value.__cause__, openai.APITimeoutError)
    assert time.monotonic() - started < 1.5


def test_dropped_connection_raises_connection_error(fake_openai):
    fake_openai.queue(Reply(drop=True))
    with pytest.raises(openai.APIConnectionError) as info:
        _client(fake_openai).chat.completions.create(model=MODEL, messages=MESSAGES)
    assert not isinstance(info.value, openai.APITimeoutError)
    # the server is still healthy afterwards
    fake_openai.queue(Reply(json=ADA))
    person = _instructor(fake_openai).chat.completions.create(
        model=MODEL, response_model=Person, messages=MESSAGES, max_retries=0
    )
    assert person.model_dump() == ADA


@pytest.mark.parametrize("mode", [instructor.Mode.TOOLS, instructor.Mode.JSON, instructor.Mode.MD_JSON])
def test_invalid_json_then_valid_is_reasked(fake_openai, mode):
    fake_openai.queue(Reply(json='{"name": "Ada", "age": '), Reply(json=ADA))
    person = _instructor(fake_openai, mode).chat.completions.create(
        model=MODEL, response_model=Person, messages=MESSAGES, max_retries=2
    )
    assert person.model_dump() == ADA
    assert len(fake_openai.requests) == 2
    # the re-ask carries the failed answer back to the model
    assert len(fake_openai.requests[1]["messages"]) > len(fake_openai.requests[0]["messages"])


def test_schema_violation_is_reasked(fake_openai):
    fake_openai.queue(Reply(json={"name": "Ada", "age": "thirty-six"}), Reply(json=ADA))
    person = _instructor(fake_openai).chat.completions.create(
        model=MODEL, response_model=Person, messages=MESSAGES, max_retries=1
    )
    assert person.age == 36
    assert "thirty-six" in json.dumps(fake_openai.requests[1]["messages"])


def test_persistently_invalid_json_exhausts_retries(fake_openai):
    fake_openai.default = lambda request: Reply(json="not json at all")
    with pytest.raises(InstructorRetryException) as info:
        _instructor(fake_openai).chat.completions.create(
            model=MODEL, response_model=Person, messages=MESSAGES, max_retries=2
        )
    assert info.value.n_attempts == 3
    assert len(info.value.failed_attempts) == 3
    assert len(fake_openai.requests) == 3


def test_length_finish_reason_raises_incomplete_output(fake_openai):
    fake_openai.queue(Reply(json='{"name": "Ad', finish_reason="length"))
    with pytest.raises(instructor.core.exceptions.IncompleteOutputException):
        _instructor(fake_openai).chat.completions.create(
            model=MODEL, response_model=Person, messages=MESSAGES, max_retries=2
        )
    assert len(fake_openai.requests) == 1


# --------------------------------------------------------------------------- recording & concurrency


def test_requests_and_headers_are_recorded(fake_openai):
    fake_openai.queue(Reply(json=ADA))
    secret = "ASIN B00SECRET"
    redacted = [{"role": "user", "content": "Extract: [REDACTED] is 36."}]
    _instructor(fake_openai).chat.completions.create(
        model=MODEL, response_model=Person, messages=redacted, max_retries=0, temperature=0
    )
    assert len(fake_openai.requests) == len(fake_openai.headers_seen) == 1
    request = fake_openai.requests[0]
    assert request["temperature"] == 0
    assert request["messages"][-1]["content"] == "Extract: [REDACTED] is 36."
    assert secret not in json.dumps(fake_openai.requests)
    headers = fake_openai.headers_seen[0]
    assert headers["authorization"] == "Bearer test-key"
    assert headers["content-type"] == "application/json"
    fake_openai.reset()
    assert fake_openai.requests == [] and fake_openai.headers_seen == []


def test_concurrent_threads(fake_openai):
    fake_openai.default = lambda request: Reply(
        delay=0.25, json={"name": request["messages"][-1]["content"], "age": 1}
    )
    client = _instructor(fake_openai)
    client.chat.completions.create(model=MODEL, response_model=Person, messages=MESSAGES, max_retries=0)  # warm-up
    fake_openai.reset()
    results: dict[int, str] = {}

    def work(i: int) -> None:
        person = client.chat.completions.create(
            model=MODEL, response_model=Person, messages=[{"role": "user", "content": f"p{i}"}], max_retries=0
        )
        results[i] = person.name

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert results == {i: f"p{i}" for i in range(8)}
    assert len(fake_openai.requests) == 8
    assert time.monotonic() - started < 1.0  # served in parallel, not 8 x 0.25 s


def test_concurrent_asyncio_tasks_and_fixed_delay():
    with FakeOpenAI(fixed_delay=0.15) as server:
        server.default = lambda request: Reply(json={"name": request["messages"][-1]["content"], "age": 2})

        async def run():
            async with _async_client(server) as raw:
                client = instructor.from_openai(raw, mode=instructor.Mode.JSON)
                await client.chat.completions.create(  # warm-up
                    model=MODEL, response_model=Person, messages=MESSAGES, max_retries=0
                )
                server.reset()
                started = time.monotonic()
                people = await asyncio.gather(
                    *[
                        client.chat.completions.create(
                            model=MODEL,
                            response_model=Person,
                            messages=[{"role": "user", "content": f"t{i}"}],
                            max_retries=0,
                        )
                        for i in range(10)
                    ]
                )
                return people, time.monotonic() - started

        people, elapsed = asyncio.run(run())
        assert sorted(p.name for p in people) == sorted(f"t{i}" for i in range(10))
        assert 0.15 <= elapsed < 0.9  # fixed_delay applies, but in parallel (10 x 0.15 s in series)
        assert len(server.requests) == 10
