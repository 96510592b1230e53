"""A fake Anthropic Messages API (simulated, scripted model) for tests and benchmarks.

It speaks the real wire format (JSON and SSE, errors, usage with prompt caching, signed thinking
blocks) so the official ``anthropic`` SDK talks to it unchanged::

    with FakeModelServer("builder") as server:
        client = anthropic.Anthropic(api_key="test", base_url=server.base_url, max_retries=0)
        ...
"""

from agentic_executor.testing.conversation import COMPLETION_MARKER, REJECTION_MARKER, Action, Conversation
from agentic_executor.testing.engine import Exchange, FakeModel
from agentic_executor.testing.scenarios import (
    SCENARIOS,
    BuilderScenario,
    Failure,
    FlakyScenario,
    InjectorScenario,
    LiarScenario,
    Scenario,
    ScenarioRequest,
    SpenderScenario,
    ThinkerScenario,
    text,
    thinking,
    tool_use,
)
from agentic_executor.testing.server import FakeModelServer, run
from agentic_executor.testing.tokens import count_prompt, count_text
from agentic_executor.testing.wire import sign_thinking

__all__ = [
    "COMPLETION_MARKER",
    "REJECTION_MARKER",
    "SCENARIOS",
    "Action",
    "BuilderScenario",
    "Conversation",
    "Exchange",
    "Failure",
    "FakeModel",
    "FakeModelServer",
    "FlakyScenario",
    "InjectorScenario",
    "LiarScenario",
    "Scenario",
    "ScenarioRequest",
    "SpenderScenario",
    "ThinkerScenario",
    "count_prompt",
    "count_text",
    "run",
    "sign_thinking",
    "text",
    "thinking",
    "tool_use",
]
