"""Monitoring: the seed's three SQL views as JSON (a tenant sees its own), and Prometheus ``/metrics``.

``/metrics`` is read from the database at scrape time, so every API process reports the same
service-wide numbers: sessions by status, spend, tokens, iterations, completion and gate outcomes.
Gate outcomes come from the checks of each completion verdict, counted incrementally (each
scrape reads only the verdicts since the last one).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from agentic_executor.api.auth import Admin, Reader
from agentic_executor.api.deps import get_app
from agentic_executor.api.errors import documented
from agentic_executor.api.schemas import DailySpendReport, ExhaustionRate, TopExpensive
from agentic_executor.app import App
from agentic_executor.budget.ledger import micros_to_dollars
from agentic_executor.store import queries

VERDICTS = ("completion_approved", "completion_rejected")
router = APIRouter(tags=["monitoring"], responses=documented(401, 403, 413, 422, 503))


@router.get("/api/agentic/metrics/daily-spend", response_model=DailySpendReport)
def daily_spend(request: Request, principal: Reader) -> dict[str, Any]:
    """Spend and sessions per day over the last 7 days (the seed's "Daily Spend" query)."""
    with get_app(request).db.read() as conn:
        rows = queries.daily_spend(conn, principal.tenant)
    return {"days": [{"date": r["date"], "totalCost": r["total_cost"], "sessions": r["sessions"]} for r in rows]}


@router.get("/api/agentic/metrics/exhaustion-rate", response_model=ExhaustionRate)
def exhaustion_rate(request: Request, principal: Reader) -> dict[str, Any]:
    """Sessions started in the last 30 days, how many ran out of budget, and the average share of
    budget used (the seed's "Budget Exhaustion Rate" query)."""
    with get_app(request).db.read() as conn:
        r = queries.exhaustion_rate(conn, principal.tenant)
    return {"total": r["total"], "exhausted": r["exhausted"], "avgUtilization": r["avg_utilization"]}


@router.get("/api/agentic/metrics/top-expensive", response_model=TopExpensive)
def top_expensive(request: Request, principal: Reader) -> dict[str, Any]:
    """The ten most expensive sessions (the seed's "Top Expensive Tasks" query)."""
    with get_app(request).db.read() as conn:
        rows = queries.top_expensive(conn, principal.tenant)
    return {
        "sessions": [
            {
                "issueId": r["issue_id"],
                "costConsumed": r["cost_consumed"],
                "iteration": r["iteration"],
                "status": r["status"],
            }
            for r in rows
        ]
    }


class ServiceCollector(Collector):
    def __init__(self, app: App) -> None:
        self.app = app
        self._lock = threading.Lock()
        self._gate_cursor = 0
        self._gates: dict[tuple[str, str], int] = {}

    def collect(self) -> Iterator[Metric]:
        with self.app.db.read() as conn:
            t = queries.totals(conn)
            gates = self._count_gates(conn)
        sessions = GaugeMetricFamily("agx_sessions", "Sessions by status.", labels=["status"])
        for status, n in sorted(t.sessions_by_status.items()):
            sessions.add_metric([status], n)
        yield sessions
        yield CounterMetricFamily(
            "agx_spend_dollars", "Dollars spent by all sessions (settled).", value=micros_to_dollars(t.consumed_micros)
        )
        yield GaugeMetricFamily(
            "agx_budget_allocated_dollars",
            "Dollars allocated to all sessions.",
            value=micros_to_dollars(t.allocated_micros),
        )
        tokens = CounterMetricFamily("agx_tokens", "Model tokens by kind.", labels=["kind"])
        for kind, n in t.tokens.items():
            tokens.add_metric([kind], n)
        yield tokens
        yield CounterMetricFamily("agx_iterations", "Iterations committed.", value=t.iterations)
        claims = CounterMetricFamily("agx_completion_claims", "Completion claims by outcome.", labels=["outcome"])
        for outcome, n in t.completion_outcomes.items():
            claims.add_metric([outcome], n)
        yield claims
        gate_family = CounterMetricFamily(
            "agx_gate_results", "Quality gate runs by gate and outcome.", labels=["gate", "outcome"]
        )
        for (gate, outcome), n in sorted(gates.items()):
            gate_family.add_metric([gate, outcome], n)
        yield gate_family

    def _count_gates(self, conn: Any) -> dict[tuple[str, str], int]:
        """Gate outcomes from the checks of each completion verdict, read incrementally."""
        with self._lock:
            while True:
                rows = queries.events_since(conn, self._gate_cursor, event_types=VERDICTS, limit=5000)
                for row in rows:
                    for check in row.data.get("checks", []):
                        name = str(check.get("check", ""))
                        if name.startswith("gate:"):
                            key = (name.removeprefix("gate:"), "passed" if check.get("passed") else "failed")
                            self._gates[key] = self._gates.get(key, 0) + 1
                if rows:
                    self._gate_cursor = rows[-1].id
                if len(rows) < 5000:
                    return dict(self._gates)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition."}},
)
def prometheus(request: Request, principal: Admin) -> Response:
    """Service-wide metrics in the Prometheus text format (needs an admin token when auth is on)."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
