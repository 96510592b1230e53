"""The Anthropic provider on the official SDK, against the fake Messages API over real HTTP."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from agentic_executor.budget.guard import CallLimits, guarded_call
from agentic_executor.budget.ledger import Ledger
from agentic_executor.budget.prices import PriceBook
from agentic_executor.engine.tools import TOOL_SPECS
from agentic_executor.errors import BudgetExhausted, ProviderError
from agentic_executor.providers.anthropic import AnthropicProvider
from agentic_executor.providers.base import ModelRequest, RetryableProviderError
from agentic_executor.store.db import Database
from agentic_executor.testing import FakeModelServer


@pytest.fixture(scope="module")
def server() -> Iterator[FakeModelServer]:
    with FakeModelServer(scenario="builder") as srv:
        yield srv


def _provider(url: str) -> AnthropicProvider:
    return AnthropicProvider(api_key="test", base_url=url)


def _request(text: str = "Build a page", **kw: object) -> ModelRequest:
    return ModelRequest(
        model="claude-sonnet-4-6",
        system="You build pages. " * 200,
        messages=[{"role": "user", "content": text}],
        tools=TOOL_SPECS,
        max_tokens=4000,
        **kw,
    )  # type: ignore[arg-type]


def test_complete_returns_blocks_usage_and_counts_match(server: FakeModelServer) -> None:
    provider = _provider(server.base_url)
    request = _request()
    counted = provider.count_input_tokens(request)
    response = provider.complete(request)
    provider.close()
    assert response.stop_reason == "tool_use"
    assert [b["type"] for b in response.content] == ["text", "tool_use"]
    assert response.content[1]["name"] == "write_file"
    assert response.usage.total_input_tokens == counted
    assert response.usage.output_tokens > 0


def test_cache_breakpoints_at_most_four_and_the_next_turn_reads_the_cache(server: FakeModelServer) -> None:
    server.reset()
    provider = _provider(server.url_for("builder"))
    first = _request("Build a page about caching")
    r1 = provider.complete(first)
    tool_id = r1.content[-1]["id"]
    second = _request("Build a page about caching")
    second.messages += [
        {"role": "assistant", "content": r1.content},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": "ok"}]},
    ]
    r2 = provider.complete(second)
    provider.close()
    assert r1.usage.cache_write_tokens > 0
    assert r2.usage.cache_read_tokens >= r1.usage.cache_write_tokens
    for body in server.requests:
        marks = str(body).count("'cache_control'")
        assert 1 <= marks <= 4
    assert "cache_control" not in str(second.messages)  # the caller's messages are never mutated


def test_thinking_is_sent_with_its_budget(server: FakeModelServer) -> None:
    server.reset()
    provider = _provider(server.url_for("thinker"))
    response = provider.complete(_request(thinking_budget=2048))
    provider.close()
    assert server.requests[-1]["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert response.content[0]["type"] == "thinking" and response.content[0]["signature"]


def test_errors_become_retryable_with_retry_after(server: FakeModelServer) -> None:
    provider = _provider(server.url_for("flaky"))
    request = _request("flaky run")
    statuses = []
    for _ in range(3):
        with pytest.raises(RetryableProviderError) as err:
            provider.complete(request)
        statuses.append((err.value.status, err.value.billed))
    assert provider.complete(request).stop_reason == "tool_use"
    provider.close()
    assert statuses == [(529, False), (500, False), (429, False)]


def test_bad_request_is_not_retryable(server: FakeModelServer) -> None:
    provider = _provider(server.base_url)
    with pytest.raises(ProviderError, match="400"):
        provider.complete(_request(thinking_budget=500))  # below the API's 1024 floor
    provider.close()


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(ProviderError, match="ANTHROPIC_API_KEY"):
        AnthropicProvider()


@pytest.fixture
def dropping_server() -> Iterator[str]:
    """Accepts each connection, reads the request, and hangs up without answering."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            conn.recv(65536)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join()
    sock.close()


class _CountingDropper(AnthropicProvider):
    def count_input_tokens(self, request: ModelRequest) -> int:
        return 2_000


def test_guard_charges_a_dropped_connection_at_worst_case(db: Database, dropping_server: str) -> None:
    ledger = Ledger(db)
    pool = ledger.create_pool("session", 1_000_000)
    provider = _CountingDropper(api_key="test", base_url=dropping_server)
    limits = CallLimits(max_tokens=1000, attempts=2, base_delay=0.0)
    with pytest.raises(ProviderError, match="failed 2 times"):
        guarded_call(ledger, [pool], PriceBook().resolve("claude-sonnet-4-6"), provider, _request(), limits)
    provider.close()
    state = ledger.pool(pool)
    assert state.reserved == 0
    assert state.consumed > 0  # the request may have been billed: charged at its worst case


def test_guard_refuses_before_calling_when_nothing_fits(db: Database, server: FakeModelServer) -> None:
    ledger = Ledger(db)
    pool = ledger.create_pool("session", 2_000)  # $0.002: not even the input fits
    server.reset()
    provider = _provider(server.base_url)
    with pytest.raises(BudgetExhausted):
        guarded_call(ledger, [pool], PriceBook().resolve("claude-sonnet-4-6"), provider, _request(), CallLimits())
    provider.close()
    assert server.requests == []  # no model call was made
    assert ledger.pool(pool).consumed == 0
