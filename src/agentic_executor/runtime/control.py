"""Session control through the queue: enqueue, pause, resume, cancel, top up, wait.

Pause and cancel are cooperative: they set a flag that the loop reads at the next iteration
boundary, so a model call already paid for is never thrown away. Resume starts the session's
next run (a new workflow id) and is refused while a run is still going, or, for a
``budget_exhausted`` session, until budget has been added.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import select

from agentic_executor.app import App
from agentic_executor.budget.ledger import dollars_to_micros
from agentic_executor.errors import BudgetExhausted, Conflict
from agentic_executor.runtime import dbos_setup
from agentic_executor.runtime.workflows import QUEUE_NAME, WORKFLOW_NAME, workflow_id
from agentic_executor.store import queries
from agentic_executor.store.queries import TERMINAL
from agentic_executor.store.tables import convoys

RESUMABLE = {"paused", "budget_exhausted", "failed"}
MIN_RESUME_MICROS = 10_000  # below a cent nothing useful fits: add budget first


def enqueue(app: App, session_id: str) -> str:
    """Put the session's current run on the queue (idempotent: same run, same workflow id)."""
    with app.db.transaction() as conn:
        session = queries.get_session(conn, session_id)
    wf_id = workflow_id(session_id, session.run_no)
    app.queue_client().enqueue(dbos_setup.enqueue_options(WORKFLOW_NAME, QUEUE_NAME, wf_id), session_id, session.run_no)
    with app.db.transaction() as conn:
        queries.add_event(conn, session_id, "enqueued", {"workflow_id": wf_id})
    return wf_id


def pause(app: App, session_id: str) -> queries.SessionRow:
    with app.db.transaction() as conn:
        session = queries.get_session(conn, session_id)
        if session.status in TERMINAL or session.status == "paused":
            raise Conflict(f"session {session_id} is {session.status}: only a queued or running session can pause")
        queries.update_session(conn, session_id, pause_requested=True)
        queries.add_event(conn, session_id, "pause_requested", {})
        return queries.get_session(conn, session_id)


def cancel(app: App, session_id: str) -> queries.SessionRow:
    with app.db.transaction() as conn:
        session = queries.get_session(conn, session_id)
        if session.status in TERMINAL:
            raise Conflict(f"session {session_id} is already {session.status}")
        queries.update_session(conn, session_id, cancel_requested=True)
        queries.add_event(conn, session_id, "cancel_requested", {})
        if session.status == "paused":  # no run is going: cancel now
            queries.update_session(conn, session_id, status="cancelled", finished_at=queries.utcnow())
            queries.add_event(conn, session_id, "status_changed", {"status": "cancelled"})
        return queries.get_session(conn, session_id)


def add_budget(app: App, session_id: str, dollars: float | str) -> queries.SessionRow:
    micros = dollars_to_micros(dollars)
    with app.db.transaction() as conn:
        session = queries.get_session(conn, session_id)
        pool = app.ledger.add_funds(session.pool_id, micros, conn=conn)
        queries.add_event(
            conn, session_id, "budget_added", {"added_micros": micros, "allocated_micros": pool.allocated}
        )
        return queries.get_session(conn, session_id)


def resume(app: App, session_id: str, *, feedback: str | None = None) -> queries.SessionRow:
    """Start the session's next run; ``BudgetExhausted`` (HTTP 402) when no budget is left."""
    with app.db.transaction() as conn:
        session = queries.get_session(conn, session_id)
        if session.status not in RESUMABLE:
            raise Conflict(f"session {session_id} is {session.status}: only a paused or stopped session can resume")
        pools = [session.pool_id]
        if session.convoy_id:  # a convoy task also needs money left in the convoy's shared pool
            pools.append(conn.execute(select(convoys.c.pool_id).where(convoys.c.id == session.convoy_id)).scalar_one())
        available = app.ledger.available(pools, conn=conn)
        if available < MIN_RESUME_MICROS:
            raise BudgetExhausted(
                f"session {session_id} has ${available / 1e6:.4f} left: add budget first "
                f"(agx budget {session_id} --add 2), then resume",
                details={"session_id": session_id, "available_micros": available},
            )
        changes: dict[str, Any] = {
            "status": "queued",
            "run_no": session.run_no + 1,
            "pause_requested": False,
            "cancel_requested": False,
            "finished_at": None,
            "rejections": 0,
        }
        queries.update_session(conn, session_id, **changes)
        queries.add_event(conn, session_id, "resumed", {"run_no": session.run_no + 1})
        if feedback:
            seq = queries.next_seq(conn, session_id)
            queries.append_message(conn, session_id, seq, {"role": "user", "content": feedback}, session.iteration)
    enqueue(app, session_id)
    with app.db.transaction() as conn:
        return queries.get_session(conn, session_id)


def wait(app: App, session_id: str, *, timeout: float | None = None, poll: float = 0.2) -> queries.SessionRow:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        with app.db.transaction() as conn:
            session = queries.get_session(conn, session_id)
        if session.status in TERMINAL or session.status == "paused":
            return session
        if deadline is not None and time.monotonic() > deadline:
            return session
        time.sleep(poll)
