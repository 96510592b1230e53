"""Convoys for real: tasks run in parallel on one shared pool that is never exceeded."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
import sqlalchemy as sa

from agentic_executor.store.tables import budget_reservations, iterations

from .conftest import SPEND, Server


def _overlaps(server: Server, session_ids: list[str]) -> int:
    """Pairs of iterations of different sessions whose model calls ran at the same time."""
    with server.app.db.read() as conn:
        rows = conn.execute(sa.select(iterations).where(iterations.c.session_id.in_(session_ids))).all()
    spans = [(r.session_id, r.created_at - timedelta(milliseconds=r.duration_ms), r.created_at) for r in rows]
    return sum(1 for a, b in itertools.combinations(spans, 2) if a[0] != b[0] and a[1] < b[2] and b[1] < a[2])


@pytest.mark.slow
def test_a_convoy_runs_in_parallel_on_one_pool_that_is_never_exceeded(api_server: Server) -> None:
    server = api_server
    spec = {"title": "Spend", "description": f"{SPEND} Write at length about budgets."}
    with server.client(server.token("submit", "convoys")) as client:
        split = client.post("/api/agentic/convoy", json={"name": "split", "budget": 0.30, "tasks": [spec] * 3})
        assert split.status_code == 202, split.text
        assert split.json()["perTaskBudget"] == 0.1
        shared = client.post(
            "/api/agentic/convoy",
            json={"name": "oversubscribed", "budget": 0.30, "perTaskBudget": 0.2, "tasks": [spec] * 3},
        )
        assert shared.status_code == 202, shared.text
        ids = split.json()["tasks"] + shared.json()["tasks"]
        rows = server.wait(ids, timeout=90)
        assert {r.status for r in rows} == {"budget_exhausted"}

        for convoy, cap in ((split.json(), 100_000), (shared.json(), 200_000)):
            status = client.get(convoy["statusUrl"]).json()
            assert status["status"] == "completed" and status["counts"] == {"budget_exhausted": 3}
            pool = server.app.ledger.pool(_pool_id(server, convoy["convoyId"]))
            tasks = [server.app.ledger.pool(server.session(t).pool_id) for t in convoy["tasks"]]
            assert pool.reserved == 0 and pool.consumed <= pool.allocated == 300_000
            assert all(t.reserved == 0 and t.consumed <= t.allocated == cap for t in tasks)
            assert pool.consumed == sum(t.consumed for t in tasks)
            assert status["budget"]["consumed"] == pool.consumed / 1e6 <= 0.30
            assert _overlaps(server, convoy["tasks"]) > 0, "the convoy's tasks never ran at the same time"
        # in the oversubscribed convoy the shared pool, not the tasks' caps, stopped the work
        shared_pool = server.app.ledger.pool(_pool_id(server, shared.json()["convoyId"]))
        assert shared_pool.consumed > 0.5 * shared_pool.allocated
        assert any(server.app.ledger.pool(server.session(t).pool_id).available > 50_000 for t in shared.json()["tasks"])
        with server.app.db.read() as conn:
            open_rows = conn.execute(
                sa.select(sa.func.count()).where(budget_reservations.c.status == "open")
            ).scalar_one()
        assert open_rows == 0

        # a spent session cannot resume: 402 Payment Required, in the error shape; pausing it is a 409
        tiny = client.post("/api/agentic/submit", json={"prompt": SPEND, "budget": 0.001}).json()
        (row,) = server.wait([tiny["taskId"]])
        assert row.status == "budget_exhausted" and row.iteration == 0  # not even one call fitted
        spent = tiny["taskId"]
        refused = client.post(f"/api/agentic/sessions/{spent}/resume")
        assert refused.status_code == 402
        assert (
            refused.json()["error"]["code"] == "budget_exhausted" and "add budget" in refused.json()["error"]["message"]
        )
        assert client.post(f"/api/agentic/sessions/{spent}/pause").status_code == 409


def _pool_id(server: Server, convoy_id: str) -> str:
    from agentic_executor.store import queries

    with server.app.db.read() as conn:
        return str(queries.get_convoy(conn, convoy_id, None).pool_id)
