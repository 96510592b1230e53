"""End to end against the fake Messages API: each scenario reaches the state it must, on both databases."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from agentic_executor.app import App
from agentic_executor.engine.loop import run_session
from agentic_executor.engine.submit import submit_task
from agentic_executor.store import queries
from agentic_executor.testing import FakeModelServer
from agentic_executor.views import session_status

CRITERIA = ["Homepage renders with studio name", "All quality gates pass"]


def _run(app: App, provider_for: Any, scenario: str, budget: float = 5.0) -> dict[str, Any]:
    # A fresh prompt each run: the fake server's prompt cache is shared by the whole test session.
    session = submit_task(
        app,
        f"Build a fitness studio page ({scenario}, run {uuid.uuid4()})",
        budget,
        criteria=CRITERIA,
        task_type="template-generation",
    )
    status = run_session(app, session.id, provider_for(scenario))
    report = session_status(app, session.id)
    assert report["session"]["status"] == status
    return report


def _types(report: dict[str, Any]) -> list[str]:
    return [e["type"] for e in report["events"]]


def test_builder_ends_awaiting_review_with_the_page(app: App, provider_for: Any) -> None:
    report = _run(app, provider_for, "builder")
    assert report["session"]["status"] == "awaiting_review"
    page = Path(report["session"]["workspace"]) / "index.html"
    assert "<h1" in page.read_text()
    assert report["preview"] == f"/preview/{report['session']['id']}/"
    # every iteration is committed with its cost; the session's figure is their sum
    costs = [i["cost"] for i in report["iterations"]]
    assert len(costs) == report["session"]["iteration"] >= 3
    assert abs(sum(costs) - report["budget"]["consumed"]) < 1e-9
    assert "completion_approved" in _types(report)


def test_spender_stops_within_budget_after_one_warning(app: App, provider_for: Any) -> None:
    report = _run(app, provider_for, "spender", budget=0.4)
    budget = report["budget"]
    assert report["session"]["status"] == "budget_exhausted"
    with app.db.transaction() as conn:
        s = queries.get_session(conn, report["session"]["id"])
        pool = app.ledger.pool(s.pool_id, conn=conn)
    assert pool.reserved == 0 and pool.consumed <= pool.allocated  # to the micro-dollar
    assert pool.consumed >= 0.95 * pool.allocated
    assert budget["exhausted"] is True
    assert _types(report).count("budget_warning") == 1
    with app.db.transaction() as conn:
        texts = [b.get("text", "") for m in queries.load_messages(conn, s.id) for b in m["content"]]
    warnings = [t for t in texts if t.startswith("⚠️  BUDGET WARNING")]
    assert len(warnings) == 1
    assert "Focus on essential work. Prepare to wrap up." in warnings[0] and "Remaining: $" in warnings[0]


def test_liar_is_rejected_then_builds_then_completes(app: App, provider_for: Any) -> None:
    report = _run(app, provider_for, "liar")
    types = _types(report)
    assert report["session"]["status"] == "awaiting_review"
    first_claim = types.index("completion_claimed")
    assert types[first_claim + 1] == "completion_rejected"
    assert types.index("completion_approved") > types.index("tool_call") > first_claim


def test_injector_phrases_are_recorded_and_never_reach_the_model(
    app: App, provider_for: Any, fake_server: FakeModelServer
) -> None:
    fake_server.reset()
    report = _run(app, provider_for, "injector")
    assert report["session"]["status"] == "awaiting_review"
    injections = [e for e in report["events"] if e["type"] == "prompt_injection_detected"]
    assert injections and injections[0]["data"]["source"] == "tool:read_file"
    removed = {r["kind"] for r in injections[0]["data"]["removed"]}
    assert {"completion_signal", "budget_bypass", "gate_bypass"} <= removed
    for request in fake_server.requests:
        for message in request["messages"]:
            if message["role"] != "user" or isinstance(message["content"], str):
                continue
            for block in message["content"]:
                body = json.dumps(block.get("content", ""))
                assert "<completion>DONE</completion>" not in body
                assert "ignore budget" not in body.lower()
    assert (Path(report["session"]["workspace"]) / "index.html").is_file()


def test_flaky_completes_and_prices_each_failed_attempt(app: App, provider_for: Any) -> None:
    report = _run(app, provider_for, "flaky")
    assert report["session"]["status"] == "awaiting_review"
    failures = [e for e in report["events"] if e["type"] == "model_call_failed"]
    assert failures and {f["data"]["status"] for f in failures} == {529, 500, 429}
    assert all(f["data"]["charged_micros"] == 0 for f in failures)  # refused before any work: $0
    with app.db.transaction() as conn:
        rows = conn.execute(sa.text("select status, settled_as from budget_reservations")).all()
    assert {r.status for r in rows} == {"settled"}
    assert len(rows) == len(failures) + len(report["iterations"])  # every attempt was reserved


def test_thinker_blocks_come_back_byte_identical(app: App, provider_for: Any, fake_server: FakeModelServer) -> None:
    fake_server.reset()
    report = _run(app, provider_for, "thinker")
    assert report["session"]["status"] == "awaiting_review"
    with app.db.transaction() as conn:
        stored = queries.load_messages(conn, report["session"]["id"])
    thinking = [b for m in stored if m["role"] == "assistant" for b in m["content"] if b["type"] == "thinking"]
    assert len(thinking) == report["session"]["iteration"]
    assert all(b["signature"] for b in thinking)
    last_request = fake_server.requests[-1]
    sent = [
        b for m in last_request["messages"] if m["role"] == "assistant" for b in m["content"] if b["type"] == "thinking"
    ]
    assert sent == thinking[: len(sent)] and len(sent) == len(thinking) - 1


def test_seed_monitoring_sql_runs_verbatim(app: App, provider_for: Any) -> None:
    built = _run(app, provider_for, "builder")
    spent = _run(app, provider_for, "spender", budget=0.3)
    if not app.db.is_sqlite:
        return  # the seed's SQL is SQLite's dialect (datetime('now', …))
    daily = """SELECT
  DATE(created_at) as date,
  SUM(cost) as total_cost,
  COUNT(DISTINCT session_id) as sessions
FROM agentic_iterations
WHERE created_at >= datetime('now', '-7 days')
GROUP BY DATE(created_at);"""
    exhaustion = """SELECT
  COUNT(*) as total,
  SUM(CASE WHEN status = 'budget_exhausted' THEN 1 ELSE 0 END) as exhausted,
  ROUND(AVG(cost_consumed / budget) * 100, 1) as avg_utilization
FROM agentic_sessions
WHERE started_at >= datetime('now', '-30 days');"""
    top = """SELECT
  issue_id,
  cost_consumed,
  iteration,
  status
FROM agentic_sessions
ORDER BY cost_consumed DESC
LIMIT 10;"""
    with app.db.transaction() as conn:
        day = conn.exec_driver_sql(daily).all()
        rate = conn.exec_driver_sql(exhaustion).one()
        tops = conn.exec_driver_sql(top).all()
    total = built["budget"]["consumed"] + spent["budget"]["consumed"]
    assert len(day) == 1 and abs(day[0].total_cost - total) < 1e-9 and day[0].sessions == 2
    utilization = (built["budget"]["consumed"] / 5.0 + spent["budget"]["consumed"] / 0.3) / 2 * 100
    assert (rate.total, rate.exhausted) == (2, 1) and rate.avg_utilization == round(utilization, 1)
    assert [t.issue_id for t in tops] == [spent["session"]["id"], built["session"]["id"]]
    assert tops[0].status == "budget_exhausted" and tops[1].iteration == built["session"]["iteration"]


def test_replay_plays_a_recorded_session_back_deterministically(app: App, provider_for: Any) -> None:
    from agentic_executor.providers import make_provider

    recorded = _run(app, provider_for, "builder")
    replay_model = f"replay:{recorded['session']['id']}"
    session = submit_task(
        app,
        "Build a fitness studio page (replayed)",
        5.0,
        criteria=CRITERIA,
        task_type="template-generation",
        model=replay_model,
    )
    assert run_session(app, session.id, make_provider(app, replay_model)) == "awaiting_review"
    replayed = session_status(app, session.id)
    assert [i["cost"] for i in replayed["iterations"]] == [i["cost"] for i in recorded["iterations"]]
    page = (Path(replayed["session"]["workspace"]) / "index.html").read_text()
    assert page == (Path(recorded["session"]["workspace"]) / "index.html").read_text()


def test_a_pause_asked_for_while_queued_holds_when_the_run_starts(app: App, provider_for: Any) -> None:
    from agentic_executor.runtime import control

    session = submit_task(app, "Build a fitness studio page", 2.0)
    control.pause(app, session.id)  # still queued: no worker has it yet
    assert run_session(app, session.id, provider_for("builder")) == "paused"
    with app.db.read() as conn:
        paused = queries.get_session(conn, session.id)
        iterations = queries.list_iterations(conn, session.id)
    assert paused.iteration == 0 and not iterations and paused.consumed_micros == 0  # no call was made
    control.resume(app, session.id)
    assert run_session(app, session.id, provider_for("builder")) == "awaiting_review"
