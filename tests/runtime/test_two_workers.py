"""Two workers on PostgreSQL drain 50 queued sessions; one is killed half-way and never returns:
the other takes its runs over after the timeout, and no session is ever driven twice at once."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from agentic_executor.engine.submit import submit_task
from agentic_executor.runtime import control
from agentic_executor.store import queries
from agentic_executor.store.queries import TERMINAL

from .conftest import Cluster
from .integrity import check_session_integrity


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # several machines share PostgreSQL
def test_two_workers_drain_fifty_sessions_and_survive_losing_one(
    db_url: str, make_cluster: Callable[..., Cluster]
) -> None:
    cluster = make_cluster("builder", takeover_s=3.0)
    ids = []
    for i in range(50):
        session = submit_task(cluster.app, f"Build page number {i}", 1.0, task_type="task")
        control.enqueue(cluster.app, session.id)
        ids.append(session.id)
    cluster.start_worker("w1", concurrency=4)
    cluster.start_worker("w2", concurrency=4)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        with cluster.app.db.read() as conn:
            done = sum(queries.get_session(conn, sid).status in TERMINAL for sid in ids)
        if done >= 15:
            break
        time.sleep(0.1)
    cluster.kill("w1")  # and it never comes back
    rows = cluster.wait_all(ids, timeout=300)
    for row in rows:
        if row.status != "awaiting_review":
            with cluster.app.db.read() as conn:
                story = [(e["type"], e["data"]) for e in queries.list_events(conn, row.id)]
            raise AssertionError(f"{row.id} ended {row.status}: {story[-12:]}")
    for row in rows:
        check_session_integrity(cluster.app, row.id)  # reservations never overlap: one driver at a time
    with cluster.app.db.read() as conn:
        taken = conn.exec_driver_sql("select taken_over_by from agentic_workers where id = 'w1'").scalar()
    assert taken == "w2"
