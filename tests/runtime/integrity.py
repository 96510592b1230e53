"""Checks every durable-session test ends with: nothing lost, nothing duplicated, no overspend."""

from __future__ import annotations

import itertools

import sqlalchemy as sa

from agentic_executor.app import App
from agentic_executor.store import queries
from agentic_executor.store.tables import budget_reservations, messages


def check_session_integrity(app: App, session_id: str) -> queries.SessionRow:
    with app.db.transaction() as conn:
        session = queries.get_session(conn, session_id)
        rows = queries.list_iterations(conn, session_id)
        seqs = [
            r.seq
            for r in conn.execute(
                sa.select(messages.c.seq, messages.c.role)
                .where(messages.c.session_id == session_id)
                .where(messages.c.block_index == 0)
                .order_by(messages.c.seq)
            )
        ]
        history = queries.load_messages(conn, session_id)
        reservations = conn.execute(
            sa.select(budget_reservations)
            .where(budget_reservations.c.session_id == session_id)
            .order_by(budget_reservations.c.created_at)
        ).all()
        pool = app.ledger.pool(session.pool_id, conn=conn)
    assert [r.iteration for r in rows] == list(range(1, session.iteration + 1)), "iterations must be contiguous"
    assert seqs == list(range(len(seqs))), "no message missing or duplicated"
    assert [m["role"] for m in history] == ["user"] + ["assistant", "user"] * session.iteration
    assert pool.reserved == 0 and 0 <= pool.consumed <= pool.allocated
    assert all(r.status == "settled" for r in reservations), "no reservation left open"
    for before, after in itertools.pairwise(reservations):
        assert before.settled_at <= after.created_at, "one writer per session: calls never overlap"
    return session
