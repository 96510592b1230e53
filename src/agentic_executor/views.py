"""What users see of a session, in the seed's JSON shape (shared by the CLI and the API).

Spend shown to users counts consumed + reserved: money already committed to calls in flight.
"""

from __future__ import annotations

from typing import Any

from agentic_executor.app import App
from agentic_executor.budget.ledger import micros_to_dollars
from agentic_executor.store import queries


def budget_view(allocated: int, committed: int) -> dict[str, Any]:
    remaining = max(allocated - committed, 0)
    return {
        "allocated": micros_to_dollars(allocated),
        "consumed": micros_to_dollars(committed),
        "remaining": micros_to_dollars(remaining),
        "percentUsed": round(100 * committed / allocated, 1) if allocated else 0.0,
        "exhausted": remaining == 0 or committed >= allocated,
    }


def session_status(app: App, session_id: str) -> dict[str, Any]:
    with app.db.read() as conn:
        s = queries.get_session(conn, session_id)
        pool = app.ledger.pool(s.pool_id, conn=conn)
        rows = queries.list_iterations(conn, session_id)
        events = queries.list_events(conn, session_id)
    budget = budget_view(pool.allocated, pool.committed)
    if s.status == "budget_exhausted":
        budget["exhausted"] = True
    return {
        "session": {
            "id": s.id,
            "epicId": s.epic_id,
            "status": s.status,
            "iteration": s.iteration,
            "type": s.type,
            "model": s.model,
            "workspace": s.workspace,
            "summary": s.summary,
        },
        "budget": budget,
        "preview": s.preview_url,
        "iterations": [
            {
                "iteration": r.iteration,
                "cost": micros_to_dollars(r.cost_micros),
                "inputTokens": r.input_tokens,
                "outputTokens": r.output_tokens,
                "cacheReadTokens": r.cache_read_tokens,
                "cacheWriteTokens": r.cache_write_tokens,
                "stopReason": r.stop_reason,
                "durationMs": r.duration_ms,
                "createdAt": r.created_at.isoformat(),
            }
            for r in rows
        ],
        "events": events,
    }
