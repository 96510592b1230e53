"""The fake Messages API speaks the real wire format: the official SDK parses JSON and SSE replies,
usage and prompt caching add up, errors map to the SDK's classes, and invalid requests get 400."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anthropic
import pytest

from agentic_executor.engine.tools import TOOL_SPECS
from agentic_executor.testing import Failure, FakeModelServer, ScenarioRequest, count_text, text

MODEL = "claude-sonnet-4-6"
TOOLS: list[dict[str, Any]] = TOOL_SPECS  # the agent's real tools
USER = [{"role": "user", "content": "Build a single-page website for a fitness studio in index.html."}]
LONG_SYSTEM = "You are a careful web developer. Follow the house style guide exactly. " * 80  # ≈1400 tokens


def make_client(base_url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key="test", base_url=base_url, max_retries=0)


@pytest.fixture
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer("builder") as srv:
        yield srv


@pytest.fixture
def client(server: FakeModelServer) -> Iterator[anthropic.Anthropic]:
    with make_client(server.base_url) as c:
        yield c


def same_message(a: anthropic.types.Message, b: anthropic.types.Message) -> bool:
    return a.model_dump(exclude={"id"}) == b.model_dump(exclude={"id"})


def raw_post(server: FakeModelServer, path: str, body: Any, method: str = "POST") -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        data = json.dumps(body).encode() if body is not None else b""
        conn.request(method, path, body=data, headers={"x-api-key": "test", "content-type": "application/json"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# -- JSON and streaming agree ------------------------------------------------------------------


def test_json_reply_is_a_real_message(client: anthropic.Anthropic) -> None:
    msg = client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=USER)
    assert msg.id.startswith("msg_") and msg.type == "message" and msg.role == "assistant"
    assert msg.model == MODEL
    assert [b.type for b in msg.content] == ["text", "tool_use"]
    call = msg.content[1]
    assert call.type == "tool_use" and call.id.startswith("toolu_") and call.name == "write_file"
    assert call.input["path"] == "index.html"
    assert msg.stop_reason == "tool_use" and msg.stop_sequence is None
    assert msg.usage.output_tokens == sum(
        count_text(b.text)
        if b.type == "text"
        else count_text(b.name)
        + count_text(json.dumps(b.input, sort_keys=True, separators=(",", ":"), ensure_ascii=False))
        for b in msg.content
    )


@pytest.mark.parametrize("thinking", [None, {"type": "enabled", "budget_tokens": 2048}, {"type": "adaptive"}])
def test_stream_helper_assembles_the_json_message(thinking: dict[str, Any] | None) -> None:
    with FakeModelServer("thinker") as server, make_client(server.base_url) as client:
        extra: dict[str, Any] = {"thinking": thinking} if thinking else {}
        as_json = client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=USER, **extra)
        with client.messages.stream(model=MODEL, max_tokens=8000, tools=TOOLS, messages=USER, **extra) as stream:
            streamed = stream.get_final_message()
    assert same_message(as_json, streamed)
    kinds = [b.type for b in as_json.content]
    assert kinds == (["thinking", "text", "tool_use"] if thinking else ["text", "tool_use"])
    if thinking:
        assert as_json.content[0].signature and streamed.content[0].signature == as_json.content[0].signature


def test_text_only_reply_streams_identically(client: anthropic.Anthropic, server: FakeModelServer) -> None:
    body: dict[str, Any] = {"model": MODEL, "max_tokens": 8000, "messages": USER}  # no tools: plain text
    as_json = client.messages.create(**body)
    with client.messages.stream(**body) as stream:
        pieces = list(stream.text_stream)
        streamed = stream.get_final_message()
    assert same_message(as_json, streamed)
    assert len(pieces) > 3 and "".join(pieces) == as_json.content[0].text
    assert as_json.stop_reason == "end_turn"


def test_raw_stream_events_come_in_the_real_order(client: anthropic.Anthropic) -> None:
    with client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=USER, stream=True) as events:
        seen = list(events)
    kinds = [e.type for e in seen]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    start = seen[0]
    assert start.type == "message_start" and start.message.content == [] and start.message.usage.output_tokens == 1
    blocks = kinds[1:-2]
    assert blocks[0] == "content_block_start" and blocks[-1] == "content_block_stop"
    assert blocks.count("content_block_start") == blocks.count("content_block_stop") == 2
    deltas = [e.delta.type for e in seen if e.type == "content_block_delta"]
    assert deltas.count("text_delta") > 1 and deltas.count("input_json_delta") > 2
    delta = seen[-2]
    assert delta.type == "message_delta" and delta.delta.stop_reason == "tool_use"


def test_raw_sse_lines_include_ping_and_json_data(server: FakeModelServer) -> None:
    body = {"model": MODEL, "max_tokens": 300, "messages": USER, "stream": True}
    status, headers, raw = raw_post(server, "/v1/messages", body)
    assert status == 200 and headers["content-type"].startswith("text/event-stream")
    assert headers["request-id"].startswith("req_")
    events = [chunk for chunk in raw.decode().split("\n\n") if chunk]
    names = [e.split("\n")[0].removeprefix("event: ") for e in events]
    assert names[:2] == ["message_start", "ping"] and names[-1] == "message_stop"
    for event in events:
        name_line, data_line = event.split("\n")
        assert json.loads(data_line.removeprefix("data: "))["type"] == name_line.removeprefix("event: ")


# -- tokens and prompt caching -----------------------------------------------------------------


def billed(msg: anthropic.types.Message) -> int:
    u = msg.usage
    return u.input_tokens + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)


def cached_system(prompt: str = LONG_SYSTEM) -> list[dict[str, Any]]:
    return [{"type": "text", "text": prompt, "cache_control": {"type": "ephemeral"}}]


def test_count_tokens_equals_billed_input(client: anthropic.Anthropic) -> None:
    for system in (None, "Be brief.", cached_system()):
        extra: dict[str, Any] = {"system": system} if system else {}
        counted = client.messages.count_tokens(model=MODEL, tools=TOOLS, messages=USER, **extra).input_tokens
        for _ in range(2):  # uncached, then (where there is a breakpoint) read from the cache
            msg = client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=USER, **extra)
            assert billed(msg) == counted


def test_count_tokens_ignores_generation_settings(client: anthropic.Anthropic) -> None:
    plain = client.messages.count_tokens(model=MODEL, messages=USER).input_tokens
    thinking = client.messages.count_tokens(
        model=MODEL, messages=USER, thinking={"type": "enabled", "budget_tokens": 1024}
    ).input_tokens
    assert plain == thinking > count_text(USER[0]["content"])


def test_prompt_cache_write_then_read_then_miss(client: anthropic.Anthropic) -> None:
    first = client.messages.create(model=MODEL, max_tokens=100, system=cached_system(), messages=USER)
    assert first.usage.cache_creation_input_tokens and first.usage.cache_creation_input_tokens >= 1024
    assert first.usage.cache_read_input_tokens == 0
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_5m_input_tokens == first.usage.cache_creation_input_tokens
    second = client.messages.create(model=MODEL, max_tokens=100, system=cached_system(), messages=USER)
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.cache_creation_input_tokens == 0
    assert second.usage.input_tokens == first.usage.input_tokens > 0  # the messages after the breakpoint
    changed = client.messages.create(
        model=MODEL, max_tokens=100, system=cached_system(LONG_SYSTEM + "!"), messages=USER
    )
    assert changed.usage.cache_read_input_tokens == 0 and changed.usage.cache_creation_input_tokens
    other_model = client.messages.create(
        model="claude-haiku-4-5", max_tokens=100, system=cached_system(), messages=USER
    )
    assert other_model.usage.cache_read_input_tokens == 0


def test_moving_breakpoint_reads_the_previous_turn_prefix(client: anthropic.Anthropic) -> None:
    def turn(messages: list[dict[str, Any]]) -> anthropic.types.Message:
        return client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, system=LONG_SYSTEM, messages=messages)

    def mark(content: str) -> dict[str, Any]:
        return {"role": "user", "content": [{"type": "text", "text": content, "cache_control": {"type": "ephemeral"}}]}

    first = turn([mark(USER[0]["content"])])
    assert first.usage.cache_creation_input_tokens == billed(first)
    call = first.content[-1]
    assert call.type == "tool_use"
    history: list[dict[str, Any]] = [
        {"role": "user", "content": USER[0]["content"]},  # breakpoint moved away from here
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": call.id, "content": "ok", "cache_control": {"type": "ephemeral"}}
            ],
        },
    ]
    second = turn(history)
    assert second.usage.cache_read_input_tokens == billed(first)
    assert second.usage.cache_creation_input_tokens == billed(second) - billed(first)
    assert second.usage.input_tokens == 0


def test_short_prefixes_are_not_cached(client: anthropic.Anthropic) -> None:
    for _ in range(2):
        msg = client.messages.create(model=MODEL, max_tokens=100, system=cached_system("Short."), messages=USER)
        assert msg.usage.cache_creation_input_tokens == 0 and msg.usage.cache_read_input_tokens == 0


def test_cache_entries_expire_after_five_minutes() -> None:
    now = [1000.0]
    with FakeModelServer("builder", clock=lambda: now[0]) as server, make_client(server.base_url) as client:

        def ask() -> anthropic.types.Message:
            return client.messages.create(model=MODEL, max_tokens=100, system=cached_system(), messages=USER)

        ask()
        now[0] += 299
        assert ask().usage.cache_read_input_tokens  # read refreshes the TTL
        now[0] += 299
        assert ask().usage.cache_read_input_tokens
        now[0] += 301
        expired = ask()
        assert expired.usage.cache_read_input_tokens == 0 and expired.usage.cache_creation_input_tokens


def test_one_hour_ttl_and_top_level_cache_control(client: anthropic.Anthropic) -> None:
    hour = [{"type": "text", "text": LONG_SYSTEM, "cache_control": {"type": "ephemeral", "ttl": "1h"}}]
    first = client.messages.create(model=MODEL, max_tokens=100, system=hour, messages=USER)
    assert first.usage.cache_creation is not None
    assert first.usage.cache_creation.ephemeral_1h_input_tokens == first.usage.cache_creation_input_tokens > 0
    auto: dict[str, Any] = {"model": MODEL, "max_tokens": 100, "system": LONG_SYSTEM + "?", "messages": USER}
    written = client.messages.create(**auto, cache_control={"type": "ephemeral"})
    assert written.usage.cache_creation_input_tokens == billed(written)  # breakpoint on the last block
    read = client.messages.create(**auto, cache_control={"type": "ephemeral"})
    assert read.usage.cache_read_input_tokens == billed(read)


# -- max_tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize("max_tokens", [50, 20, 1])
def test_max_tokens_truncates(client: anthropic.Anthropic, max_tokens: int) -> None:
    msg = client.messages.create(model=MODEL, max_tokens=max_tokens, tools=TOOLS, messages=USER)
    assert msg.stop_reason == "max_tokens"
    assert 1 <= msg.usage.output_tokens <= max_tokens
    assert all(b.type == "text" for b in msg.content)  # the unfinished write_file call was dropped
    with client.messages.stream(model=MODEL, max_tokens=max_tokens, tools=TOOLS, messages=USER) as stream:
        assert same_message(msg, stream.get_final_message())


def test_spender_uses_exactly_max_tokens() -> None:
    with FakeModelServer("spender") as server, make_client(server.base_url) as client:
        for max_tokens in (1, 300, 4096):
            msg = client.messages.create(model=MODEL, max_tokens=max_tokens, tools=TOOLS, messages=USER)
            assert msg.stop_reason == "max_tokens" and msg.usage.output_tokens == max_tokens
            assert [b.type for b in msg.content] == ["text"]


def test_stop_sequence_ends_the_reply(client: anthropic.Anthropic) -> None:
    msg = client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=USER, stop_sequences=["page"])
    assert msg.stop_reason == "stop_sequence" and msg.stop_sequence == "page"
    assert [b.type for b in msg.content] == ["text"] and "page" not in msg.content[0].text


# -- errors -------------------------------------------------------------------------------------


def test_flaky_failures_map_to_sdk_errors() -> None:
    with FakeModelServer("flaky") as server, make_client(server.base_url) as client:

        def ask() -> anthropic.types.Message:
            return client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=USER)

        with pytest.raises(anthropic.OverloadedError) as overloaded:
            ask()
        assert overloaded.value.status_code == 529 and overloaded.value.type == "overloaded_error"
        assert overloaded.value.request_id and overloaded.value.request_id.startswith("req_")
        with pytest.raises(anthropic.InternalServerError) as internal:
            ask()
        assert internal.value.status_code == 500 and internal.value.type == "api_error"
        with pytest.raises(anthropic.RateLimitError) as limited:
            ask()
        assert limited.value.type == "rate_limit_error"
        assert limited.value.response.headers["retry-after"] == "0"
        assert ask().stop_reason == "tool_use"
        assert ask().stop_reason == "tool_use"  # the same request keeps succeeding
    statuses = [e.status for e in server.exchanges]
    assert statuses == [529, 500, 429, 200, 200]


def test_failure_sequence_and_retry_after_are_configurable() -> None:
    from agentic_executor.testing import FlakyScenario

    with (
        FakeModelServer(FlakyScenario(name="rate-limited", failures=(429, 429)), retry_after=1) as server,
        make_client(server.base_url) as client,
    ):
        for _ in range(2):
            with pytest.raises(anthropic.RateLimitError) as err:
                client.messages.create(model=MODEL, max_tokens=100, messages=USER)
            assert err.value.response.headers["retry-after"] == "1"
        assert client.messages.create(model=MODEL, max_tokens=100, messages=USER).content


class _MidStreamOverload:
    name = "mid-stream"

    def respond(self, request: ScenarioRequest) -> list[dict[str, Any]] | Failure:
        return Failure(529, "Overloaded", mid_stream=True)


def test_error_event_mid_stream_raises() -> None:
    with FakeModelServer(_MidStreamOverload()) as server, make_client(server.base_url) as client:
        with (
            pytest.raises(anthropic.APIStatusError) as err,
            client.messages.stream(model=MODEL, max_tokens=100, messages=USER) as stream,
        ):
            stream.get_final_message()
        assert isinstance(err.value.body, dict) and err.value.body["error"]["type"] == "overloaded_error"
        with pytest.raises(anthropic.OverloadedError):  # without stream: an ordinary 529
            client.messages.create(model=MODEL, max_tokens=100, messages=USER)


def test_unknown_path_and_scenario_are_404(server: FakeModelServer) -> None:
    for method, path in [("POST", "/v1/nothing"), ("GET", "/v1/messages"), ("POST", "/s/nope/v1/messages")]:
        status, headers, raw = raw_post(server, path, {"model": MODEL}, method)
        body = json.loads(raw)
        assert status == 404 and body["type"] == "error" and body["error"]["type"] == "not_found_error"
        assert body["request_id"] == headers["request-id"]
    with make_client(server.base_url + "/s/nope") as client, pytest.raises(anthropic.NotFoundError):
        client.messages.create(model=MODEL, max_tokens=10, messages=USER)


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"max_tokens": 10, "messages": USER}, "model: Field required"),
        ({"model": MODEL, "messages": USER}, "max_tokens: Field required"),
        ({"model": MODEL, "max_tokens": 10}, "messages: Field required"),
        ({"model": MODEL, "max_tokens": 0, "messages": USER}, "greater than or equal to 1"),
        ({"model": MODEL, "max_tokens": 10, "messages": []}, "at least one message"),
    ],
)
def test_missing_fields_are_invalid_requests(server: FakeModelServer, body: dict[str, Any], fragment: str) -> None:
    status, _, raw = raw_post(server, "/v1/messages", body)
    error = json.loads(raw)["error"]
    assert status == 400 and error["type"] == "invalid_request_error" and fragment in error["message"]


@pytest.mark.parametrize(
    ("thinking", "max_tokens"),
    [({"type": "enabled", "budget_tokens": 1023}, 8000), ({"type": "enabled", "budget_tokens": 4000}, 4000)],
)
def test_bad_thinking_budget_is_rejected(client: anthropic.Anthropic, thinking: Any, max_tokens: int) -> None:
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(model=MODEL, max_tokens=max_tokens, messages=USER, thinking=thinking)
    assert err.value.type == "invalid_request_error"


def test_too_many_cache_breakpoints_is_rejected(client: anthropic.Anthropic) -> None:
    blocks = [{"type": "text", "text": f"part {i}", "cache_control": {"type": "ephemeral"}} for i in range(5)]
    with pytest.raises(anthropic.BadRequestError, match="maximum of 4 blocks"):
        client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": blocks}])
    ok = client.messages.create(model=MODEL, max_tokens=10, messages=[{"role": "user", "content": blocks[:4]}])
    assert ok.content


def test_tool_results_must_answer_tool_uses(client: anthropic.Anthropic) -> None:
    stray = [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "hi"}]}]
    with pytest.raises(anthropic.BadRequestError, match="unexpected `tool_use_id`"):
        client.messages.create(model=MODEL, max_tokens=10, messages=stray)
    first = client.messages.create(model=MODEL, max_tokens=8000, tools=TOOLS, messages=USER)
    unanswered = [
        *USER,
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in first.content]},
        {"role": "user", "content": "go on"},
    ]
    with pytest.raises(anthropic.BadRequestError, match="without `tool_result`"):
        client.messages.create(model=MODEL, max_tokens=10, tools=TOOLS, messages=unanswered)


def test_missing_api_key_is_401(server: FakeModelServer) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("POST", "/v1/messages", body=b"{}", headers={"content-type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 401 and json.loads(resp.read())["error"]["type"] == "authentication_error"
    finally:
        conn.close()


# -- server ---------------------------------------------------------------------------------------


class _Echo:
    name = "echo"

    def respond(self, request: ScenarioRequest) -> list[dict[str, Any]] | Failure:
        return [text(f"attempt {request.attempt}, {request.conversation.assistant_turns} assistant turns")]


def test_custom_scenario_by_path_prefix_records_and_resets(server: FakeModelServer) -> None:
    server.add_scenario(_Echo())
    assert server.url_for("echo") == f"{server.base_url}/s/echo"
    with make_client(server.url_for("echo")) as client:
        assert client.messages.create(model=MODEL, max_tokens=50, messages=USER).content[0].text == (
            "attempt 1, 0 assistant turns"
        )
        assert client.messages.create(model=MODEL, max_tokens=50, messages=USER).content[0].text == (
            "attempt 2, 0 assistant turns"
        )
        client.messages.count_tokens(model=MODEL, messages=USER)
    assert [r["max_tokens"] for r in server.requests] == [50, 50]
    assert [(e.path, e.scenario) for e in server.exchanges][-1] == ("/v1/messages/count_tokens", "echo")
    assert server.exchanges[0].usage is not None
    server.reset()
    assert server.requests == [] and server.exchanges == []


def test_concurrent_requests(server: FakeModelServer) -> None:
    with make_client(server.base_url) as client, ThreadPoolExecutor(8) as pool:
        replies = list(
            pool.map(
                lambda i: client.messages.create(
                    model=MODEL, max_tokens=8000, tools=TOOLS, messages=[{"role": "user", "content": f"task {i}"}]
                ),
                range(16),
            )
        )
    assert len({r.id for r in replies}) == 16 and len(server.requests) == 16


def test_unknown_default_scenario_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        FakeModelServer("nope")
