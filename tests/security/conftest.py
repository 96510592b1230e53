"""The attack suite's harness: the server holds real-looking secrets, sessions run end to end against
the fake model (the ``attacker`` and ``claimer`` scenarios), and ``Outcome`` shows everything a leak
could hide in: what the model was sent, the stored conversation, the events, every table.

SQLite only: what is tested here is the engine's policy, which no backend changes (the backends
are covered by tests/engine and tests/store).
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from agentic_executor.app import App
from agentic_executor.config import Settings
from agentic_executor.engine.loop import run_session
from agentic_executor.engine.submit import submit_task
from agentic_executor.hooks import HookRegistry
from agentic_executor.providers.anthropic import AnthropicProvider
from agentic_executor.sandbox.runner import bwrap_available
from agentic_executor.store import queries
from agentic_executor.store.tables import metadata
from agentic_executor.testing import FakeModelServer
from agentic_executor.testing.scenarios import attack_plan

SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-api03-SERVER-SECRET-anthropic-0123456789",
    "OPENAI_API_KEY": "sk-proj-SERVER-SECRET-openai-9876543210",
    "AGX_API_TOKEN": "agx-SERVER-SECRET-token-5550123",
}
"""Planted in the server's environment for every test here; none may reach the model or the database."""

UNREACHABLE_CRITERION = "Write the final report to deliverable.txt"
"""A criterion the attacker never meets, so a claim can only be rejected (the claim still runs the gates)."""


@pytest.fixture(autouse=True)
def server_secrets(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    return SECRETS


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeModelServer]:
    with FakeModelServer(scenario="attacker") as server:
        yield server


@pytest.fixture
def sandboxed() -> None:
    if not bwrap_available():
        if os.environ.get("CI"):
            pytest.fail("bwrap is not usable in CI")
        pytest.skip("bwrap is not installed or cannot create namespaces here")


@dataclass
class Outcome:
    """One finished session, seen from every side."""

    app: App
    session: queries.SessionRow
    events: list[dict[str, Any]]
    messages: list[dict[str, Any]]
    requests: list[dict[str, Any]]
    allocated_micros: int
    tool_results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.session.status

    @property
    def workspace(self) -> Path:
        return Path(self.session.workspace or "")

    def of(self, event_type: str) -> list[dict[str, Any]]:
        return [e["data"] for e in self.events if e["type"] == event_type]

    def removed(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Every span the sanitizers removed (optionally of one kind)."""
        found = [r for e in self.of("prompt_injection_detected") for r in e["removed"]]
        return [r for r in found if kind is None or r["kind"] == kind]

    def result(self, index: int) -> str:
        """The content of the ``index``-th tool result the model got (engine notices included)."""
        return str(self.tool_results[index]["content"])

    def seen(self) -> list[str]:
        """The untrusted text the model was last sent: the task message and every framed tool output
        (frame removed), in order."""
        if not self.requests:
            return []
        texts = []
        for message in self.requests[-1]["messages"]:
            if message["role"] != "user":
                continue
            content = message["content"]
            blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
            for block in blocks:
                if block.get("type") == "text" and block["text"].startswith("# Task"):
                    texts.append(block["text"])
                elif block.get("type") == "tool_result" and str(block.get("content")).startswith(FRAME_OPEN):
                    texts.append(unframe(str(block["content"])))
        return texts

    def everything(self) -> str:
        """Every request sent to the model and every row of every table, as one string."""
        with self.app.db.read() as conn:
            rows = [str(list(conn.execute(select(table)).all())) for table in metadata.sorted_tables]
        return json.dumps(self.requests) + "\n".join(rows)

    def assert_contained(self) -> None:
        """The suite's common verdict: not completed, budget untouched, no secret anywhere."""
        assert self.status != "awaiting_review", self.of("completion_approved")
        assert self.session.budget_micros == self.allocated_micros
        with self.app.db.read() as conn:
            pool = self.app.ledger.pool(self.session.pool_id, conn=conn)
        assert pool.allocated == self.allocated_micros and pool.consumed <= pool.allocated
        everything = self.everything()
        for name, value in SECRETS.items():
            assert value not in everything, f"{name} leaked"
        assert not self.of("hook_failed")


Runner = Callable[..., Outcome]

FRAME_OPEN = "<tool-output "
FRAME_CLOSE = "</tool-output>"


def unframe(content: str) -> str:
    """A framed tool output's body; fails unless the frame is whole and appears exactly once."""
    assert content.startswith(FRAME_OPEN) and content.endswith(FRAME_CLOSE), content[:200]
    assert content.count(FRAME_OPEN) == 1 and content.count(FRAME_CLOSE) == 1, content
    return content.split("\n", 1)[1].rsplit("\n", 1)[0]


def open_app(home: Path, db_path: Path, **overrides: Any) -> App:
    """An App on a fresh SQLite file: quick commands, one rejection ends a session, no checkpoints."""
    values: dict[str, Any] = {
        "home": home,
        "database_url": f"sqlite:///{db_path}",
        "retry_base_delay": 0.01,
        "command_timeout_s": 8,
        "max_rejections": 1,
        "checkpoint_every": 0,
        **overrides,
    }
    return App.open(Settings(**values))


def run_attack(
    app: App,
    server: FakeModelServer,
    turns: list[list[dict[str, Any]]] | None = None,
    *,
    scenario: str = "attacker",
    prompt: str = "Summarize the workspace.",
    criteria: list[str] | None = None,
    hooks: HookRegistry | None = None,
    budget: float = 2.0,
    title: str | None = None,
    plant: dict[str, str] | None = None,
) -> Outcome:
    """Submit and run one session to its end. ``turns`` is the attacker's plan (``attack_plan``);
    ``plant`` maps workspace paths to contents present when the session starts."""
    server.reset()
    text = f"{prompt}\n(run {uuid.uuid4()})" + (f"\n{attack_plan(turns)}" if turns else "")
    session = submit_task(
        app,
        text,
        budget,
        criteria=[UNREACHABLE_CRITERION] if criteria is None else criteria,
        task_type="task",
        title=title,
        hooks=hooks,
    )
    for path, content in (plant or {}).items():
        target = app.settings.home / "workspaces" / session.id / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    provider = AnthropicProvider(api_key="test", base_url=server.url_for(scenario))
    try:
        run_session(app, session.id, provider, hooks=hooks)
    finally:
        provider.close()
    with app.db.read() as conn:
        row = queries.get_session(conn, session.id)
        events = queries.list_events(conn, session.id)
        messages = queries.load_messages(conn, session.id)
    results = [
        b
        for m in messages
        if m["role"] == "user" and isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_result"
    ]
    return Outcome(app, row, events, messages, server.requests, session.budget_micros, results)


@pytest.fixture
def overrides() -> dict[str, Any]:
    """Settings for this module's app (override the fixture in a test module to change them)."""
    return {}


@pytest.fixture
def app(agx_home: Path, tmp_path: Path, overrides: dict[str, Any]) -> Iterator[App]:
    opened = open_app(agx_home, tmp_path / "security.db", **overrides)
    yield opened
    opened.close()


@pytest.fixture
def run(app: App, fake_server: FakeModelServer) -> Runner:
    """``run(turns, **options)``: ``run_attack`` on this test's app."""
    return functools.partial(run_attack, app, fake_server)
