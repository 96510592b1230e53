"""Monitoring: the seed's three SQL views over HTTP and in ``agx stats``, and Prometheus ``/metrics``."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from agentic_executor.store import queries

from .conftest import SPEND, Server

SEED_DAILY_SPEND = """
SELECT
  DATE(created_at) as date,
  SUM(cost) as total_cost,
  COUNT(DISTINCT session_id) as sessions
FROM agentic_iterations
WHERE created_at >= datetime('now', '-7 days')
GROUP BY DATE(created_at);"""
SEED_EXHAUSTION = """
SELECT
  COUNT(*) as total,
  SUM(CASE WHEN status = 'budget_exhausted' THEN 1 ELSE 0 END) as exhausted,
  ROUND(AVG(cost_consumed / budget) * 100, 1) as avg_utilization
FROM agentic_sessions
WHERE started_at >= datetime('now', '-30 days');"""
SEED_TOP = """
SELECT
  issue_id,
  cost_consumed,
  iteration,
  status
FROM agentic_sessions
ORDER BY cost_consumed DESC
LIMIT 10;"""


def test_monitoring_views_per_tenant_and_prometheus(api_server: Server) -> None:
    token = api_server.token("admin", "monitoring")
    with api_server.client(token) as client:
        built = client.post("/api/agentic/submit", json={"prompt": "Build a page", "budget": 1}).json()["taskId"]
        spent = client.post("/api/agentic/submit", json={"prompt": SPEND, "budget": 0.05}).json()["taskId"]
        rows = {r.id: r for r in api_server.wait([built, spent])}
        assert rows[built].status == "awaiting_review" and rows[spent].status == "budget_exhausted"

        daily = client.get("/api/agentic/metrics/daily-spend").json()["days"]
        assert len(daily) == 1 and daily[0]["sessions"] == 2
        total = (rows[built].consumed_micros + rows[spent].consumed_micros) / 1e6
        assert abs(daily[0]["totalCost"] - total) < 1e-6
        rate = client.get("/api/agentic/metrics/exhaustion-rate").json()
        used = [r.consumed_micros / r.budget_micros for r in rows.values()]
        assert rate == {"total": 2, "exhausted": 1, "avgUtilization": round(100 * sum(used) / 2, 1)}
        top = client.get("/api/agentic/metrics/top-expensive").json()["sessions"]
        assert [t["issueId"] for t in top] == [spent, built]  # dearest first
        assert top[0] == {
            "issueId": spent,
            "costConsumed": rows[spent].consumed_micros / 1e6,
            "iteration": rows[spent].iteration,
            "status": "budget_exhausted",
        }

        text = client.get("/metrics")
        assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
        body = text.text
        for line in (
            'agx_sessions{status="awaiting_review"}',
            'agx_sessions{status="budget_exhausted"}',
            "agx_spend_dollars_total ",
            'agx_tokens_total{kind="output"}',
            "agx_iterations_total ",
            'agx_completion_claims_total{outcome="approved"}',
            'agx_gate_results_total{gate="security",outcome="passed"}',
        ):
            assert line in body, line


@pytest.mark.parametrize("api_server", ["sqlite"], indirect=True)
def test_agx_stats_prints_the_seeds_queries_as_written(api_server: Server) -> None:
    with api_server.app.db.read() as conn:  # other tests' sessions must be still, for a stable comparison
        busy = [s.id for status in ("queued", "running") for s in queries.list_sessions(conn, status=status)]
    api_server.wait(busy)
    with api_server.app.db.read() as conn:
        dialect = conn.dialect.name
        expected = None
        if dialect == "sqlite":  # the seed's SQL, verbatim
            expected = {
                "daily_spend": [dict(r._mapping) for r in conn.execute(sa.text(SEED_DAILY_SPEND))],
                "exhaustion_rate": dict(conn.execute(sa.text(SEED_EXHAUSTION)).one()._mapping),
                "top_expensive": [dict(r._mapping) for r in conn.execute(sa.text(SEED_TOP))],
            }
    out = subprocess.run(
        [sys.executable, "-m", "agentic_executor.cli_serve", "stats", "--json"],
        env=api_server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    stats = json.loads(out.stdout)
    assert set(stats) == {"daily_spend", "exhaustion_rate", "top_expensive"}
    assert stats["exhaustion_rate"]["total"] >= 1 and len(stats["top_expensive"]) <= 10
    if expected is not None:
        assert stats["daily_spend"] == expected["daily_spend"]
        assert stats["exhaustion_rate"] == expected["exhaustion_rate"]
        assert stats["top_expensive"] == expected["top_expensive"]
    table = subprocess.run(
        [sys.executable, "-m", "agentic_executor.cli_serve", "stats"],
        env=api_server.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "Daily spend" in table.stdout and "Top expensive tasks" in table.stdout
