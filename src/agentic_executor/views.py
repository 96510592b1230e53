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


def preview_url(s: queries.SessionRow, base_url: str = "") -> str | None:
    """Where the reviewer sees the work: the served workspace, once a preview exists."""
    return f"{base_url}/preview/{s.id}/" if s.preview_url else None


def session_status(app: App, session_id: str, *, tenant: str | None = None, base_url: str = "") -> dict[str, Any]:
    """The seed's status shape. ``tenant``: a session of another tenant is ``NotFound``."""
    with app.db.read() as conn:
        rows = queries.status_rows(conn, session_id, tenant)
    return status_view(rows, base_url)


def status_view(rows: queries.StatusRows, base_url: str = "") -> dict[str, Any]:
    """The seed's status shape from rows already read (``queries.status_rows``)."""
    s = rows.session
    budget = budget_view(rows.allocated_micros, rows.committed_micros)
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
            "title": s.title,
            "convoyId": s.convoy_id,
            "pauseRequested": s.pause_requested,
            "cancelRequested": s.cancel_requested,
            "createdAt": s.created_at.isoformat(),
            "startedAt": s.started_at.isoformat() if s.started_at else None,
            "finishedAt": s.finished_at.isoformat() if s.finished_at else None,
        },
        "budget": budget,
        "preview": preview_url(s, base_url),
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
            for r in rows.iterations
        ],
        "events": rows.events,
    }


def session_summary(s: queries.SessionRow, committed: int, base_url: str = "") -> dict[str, Any]:
    """One line of a session list: the session, its budget, where to see it."""
    budget = budget_view(s.budget_micros, committed)
    if s.status == "budget_exhausted":
        budget["exhausted"] = True
    return {
        "id": s.id,
        "epicId": s.epic_id,
        "convoyId": s.convoy_id,
        "status": s.status,
        "iteration": s.iteration,
        "type": s.type,
        "title": s.title,
        "model": s.model,
        "budget": budget,
        "preview": preview_url(s, base_url),
        "createdAt": s.created_at.isoformat(),
        "finishedAt": s.finished_at.isoformat() if s.finished_at else None,
        "statusUrl": f"/api/agentic/sessions/{s.id}",
    }


def convoy_state(statuses: list[str]) -> str:
    """A convoy ends when all its tasks end; until then it is queued, running or paused."""
    if all(st in queries.TERMINAL for st in statuses):
        return "completed"
    if all(st == "queued" for st in statuses):
        return "queued"
    if not any(st in ("queued", "running") for st in statuses):
        return "paused"
    return "running"


def convoy_status(app: App, convoy_id: str, *, tenant: str | None = None, base_url: str = "") -> dict[str, Any]:
    """Each task's status and budget, and the convoy's shared pool (consumed + reserved)."""
    with app.db.read() as conn:
        convoy = queries.get_convoy(conn, convoy_id, tenant)
        pool = app.ledger.pool(convoy.pool_id, conn=conn)
        tasks = queries.convoy_tasks(conn, convoy_id)
    state = convoy_state([s.status for s, _ in tasks])
    finished_at = convoy.finished_at
    if state == "completed" and finished_at is None:
        with app.db.transaction() as conn:
            queries.finish_convoy(conn, convoy_id, state)
            finished_at = queries.get_convoy(conn, convoy_id, None).finished_at
    counts: dict[str, int] = {}
    for s, _ in tasks:
        counts[s.status] = counts.get(s.status, 0) + 1
    return {
        "convoyId": convoy.id,
        "name": convoy.name,
        "status": state,
        "totalBudget": micros_to_dollars(pool.allocated),
        "perTaskBudget": micros_to_dollars(convoy.per_task_budget_micros),
        "budget": budget_view(pool.allocated, pool.committed),
        "counts": counts,
        "tasks": [session_summary(s, committed, base_url) for s, committed in tasks],
        "createdAt": convoy.created_at.isoformat(),
        "finishedAt": finished_at.isoformat() if finished_at else None,
        "statusUrl": f"/convoys/{convoy.id}",
    }


def review_item(app: App, s: queries.SessionRow, committed: int, base_url: str = "") -> dict[str, Any]:
    """What a reviewer needs to decide: cost, the gates' results, the agent's summary, the preview."""
    with app.db.read() as conn:
        latest = queries.latest_events(conn, s.id, ("completion_approved", "gate_result", "completion_claimed"))
        gate_events = (
            [
                e
                for e in queries.events_since(conn, latest["completion_claimed"].id, session_id=s.id)
                if e.type == "gate_result"
            ]
            if "completion_claimed" in latest
            else []
        )
    approved = latest.get("completion_approved")
    checks = approved.data.get("checks", []) if approved else []
    gates = [e.data for e in gate_events] or [
        {"gate": c["check"].removeprefix("gate:"), "passed": c.get("passed"), "score": c.get("score")}
        for c in checks
        if str(c.get("check", "")).startswith("gate:")
    ]
    return {
        **session_summary(s, committed, base_url),
        "summary": s.summary,
        "acceptanceCriteria": s.acceptance_criteria,
        "cost": micros_to_dollars(committed),
        "gates": gates,
        "checks": checks,
        "forReviewer": approved.data.get("for_reviewer", []) if approved else [],
    }
