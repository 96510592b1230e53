"""The OpenAI-compatible provider through the official ``openai`` SDK, against a fake endpoint."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentic_executor.app import App
from agentic_executor.config import Settings
from agentic_executor.engine.loop import run_session
from agentic_executor.engine.submit import submit_task
from agentic_executor.engine.tools import TOOL_SPECS
from agentic_executor.providers.base import ModelRequest, RetryableProviderError
from agentic_executor.providers.openai import OpenAIProvider
from agentic_executor.testing.openai_server import FakeOpenAIServer
from agentic_executor.views import session_status


def test_a_session_runs_end_to_end_on_an_openai_compatible_endpoint(agx_home: Path) -> None:
    app = App.open(Settings(home=agx_home, retry_base_delay=0.01))
    with FakeOpenAIServer("builder") as server:
        session = submit_task(app, "Build a fitness studio page", 1.0, task_type="task", model="openai:gpt-5")
        provider = OpenAIProvider(api_key="test", base_url=server.base_url)
        assert run_session(app, session.id, provider) == "awaiting_review"
        provider.close()
    report = session_status(app, session.id)
    app.close()
    assert "<h1" in (Path(report["session"]["workspace"]) / "index.html").read_text()
    assert all(i["cost"] > 0 for i in report["iterations"])


def test_token_bound_is_above_the_billed_input() -> None:
    with FakeOpenAIServer("builder") as server:
        provider = OpenAIProvider(api_key="test", base_url=server.base_url)
        request = ModelRequest(
            model="gpt-5",
            system="Build pages.",
            tools=TOOL_SPECS,
            max_tokens=2000,
            messages=[{"role": "user", "content": "Build a page " * 50}],
        )
        bound = provider.count_input_tokens(request)
        response = provider.complete(request)
        provider.close()
    assert response.usage.total_input_tokens <= bound
    assert response.content[-1]["type"] == "tool_use" and response.stop_reason == "tool_use"


def test_overload_is_retryable() -> None:
    with FakeOpenAIServer("flaky") as server:
        provider = OpenAIProvider(api_key="test", base_url=server.base_url)
        request = ModelRequest(
            model="gpt-5", system="s", messages=[{"role": "user", "content": "hi"}], tools=TOOL_SPECS, max_tokens=500
        )
        with pytest.raises(RetryableProviderError) as err:
            provider.complete(request)
        provider.close()
    assert err.value.status == 529
