"""A worker SIGKILLed in the middle of a session: every committed iteration survives, the call in
flight is charged at its worst case, and a restart continues the same conversation."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agentic_executor.app import App
from agentic_executor.config import Settings
from agentic_executor.engine.loop import run_session
from agentic_executor.providers.anthropic import AnthropicProvider
from agentic_executor.store import queries
from agentic_executor.store.tables import budget_reservations
from agentic_executor.testing import FakeModelServer


@pytest.mark.slow
def test_killed_worker_resumes_from_its_last_committed_iteration(agx_home: Path) -> None:
    with FakeModelServer(scenario="spender") as server:
        env = {
            **os.environ,
            "ANTHROPIC_API_KEY": "test",
            "ANTHROPIC_BASE_URL": server.base_url,
            "AGX_MAX_TOKENS": "2000",
            "AGX_THINKING_BUDGET_TOKENS": "0",
        }
        child = subprocess.Popen(
            [sys.executable, "-m", "agentic_executor", "run", "spend it", "--budget", "1", "--json"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        app = App.open(Settings(home=agx_home, max_tokens=2000, thinking_budget_tokens=0))
        try:
            deadline = time.monotonic() + 60
            session = None
            while time.monotonic() < deadline:
                with app.db.transaction() as conn:
                    rows = queries.list_sessions(conn)
                if rows and rows[0].iteration >= 3:
                    session = rows[0]
                    break
                time.sleep(0.01)
            assert session is not None, "the session never reached iteration 3"
            os.kill(child.pid, signal.SIGKILL)
            child.wait(timeout=10)

            with app.db.transaction() as conn:
                killed = queries.get_session(conn, session.id)
                history = queries.load_messages(conn, session.id)
            pool = app.ledger.pool(killed.pool_id)
            assert pool.consumed + pool.reserved <= pool.allocated
            in_flight = app.ledger.open_reservations(session_id=session.id)
            assert len(history) == 1 + 2 * killed.iteration  # task + (assistant, user) per committed iteration

            provider = AnthropicProvider(api_key="test", base_url=server.base_url)
            status = run_session(app, session.id, provider)
            provider.close()
            with app.db.transaction() as conn:
                resumed = queries.get_session(conn, session.id)
                after = queries.load_messages(conn, session.id)
                events = [e["type"] for e in queries.list_events(conn, session.id)]
            assert status == "budget_exhausted"
            assert after[: len(history)] == history  # the same conversation, continued
            assert [m["role"] for m in after] == ["user", "assistant"] * resumed.iteration + ["user"]
            pool = app.ledger.pool(resumed.pool_id)
            assert pool.reserved == 0 and pool.consumed <= pool.allocated
            assert app.ledger.open_reservations(session_id=session.id) == []
            if in_flight:  # the call in flight when killed is charged at its worst case, never forgotten
                assert "reservations_recovered" in events
                with app.db.transaction() as conn:
                    settled = conn.execute(
                        budget_reservations.select().where(budget_reservations.c.id.in_(in_flight))
                    ).all()
                assert {r.settled_as for r in settled} == {"worst_case"}
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
            app.close()
