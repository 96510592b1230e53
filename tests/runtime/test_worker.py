"""Sessions through the queue and real worker processes: drain, pause/resume/cancel, top-up."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agentic_executor.app import App
from agentic_executor.config import Settings
from agentic_executor.engine.submit import submit_task
from agentic_executor.errors import BudgetExhausted, Conflict
from agentic_executor.runtime import control
from agentic_executor.store import queries

from .conftest import Cluster
from .integrity import check_session_integrity


def _submit(cluster: Cluster, text: str, budget: float = 5.0) -> str:
    session = submit_task(cluster.app, text, budget, task_type="task")
    control.enqueue(cluster.app, session.id)
    return session.id


def test_a_worker_drains_the_queue(make_cluster: Callable[..., Cluster]) -> None:
    cluster = make_cluster("builder")
    ids = [_submit(cluster, f"Build a fitness studio page #{i}") for i in range(3)]
    cluster.start_worker("w1")
    for row in cluster.wait_all(ids):
        assert row.status == "awaiting_review"
        check_session_integrity(cluster.app, row.id)
        assert "<h1" in (Path(row.workspace or "") / "index.html").read_text()


def _wait_iteration(cluster: Cluster, session_id: str, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with cluster.app.db.transaction() as conn:
            if queries.get_session(conn, session_id).iteration >= at_least:
                return
        time.sleep(0.05)
    raise AssertionError(f"{session_id} never reached iteration {at_least}")


def test_pause_resume_cancel_end_to_end(make_cluster: Callable[..., Cluster]) -> None:
    cluster = make_cluster("spender", stream_delay=0.01)
    cluster.app.settings.max_tokens = 300
    cluster.env["AGX_MAX_TOKENS"] = "300"
    sid = _submit(cluster, "Spend slowly", budget=50.0)
    cluster.start_worker("w1")
    _wait_iteration(cluster, sid, 2)
    control.pause(cluster.app, sid)
    (paused,) = cluster.wait_all([sid])
    assert paused.status == "paused"
    with pytest.raises(Conflict):
        control.pause(cluster.app, sid)
    resumed = control.resume(cluster.app, sid)
    assert resumed.run_no == 1
    _wait_iteration(cluster, sid, paused.iteration + 2)
    control.cancel(cluster.app, sid)
    (cancelled,) = cluster.wait_all([sid])
    assert cancelled.status == "cancelled" and cancelled.iteration >= paused.iteration + 2
    check_session_integrity(cluster.app, sid)
    with pytest.raises(Conflict):
        control.resume(cluster.app, sid)


def test_exhausted_session_resumes_only_after_a_top_up(make_cluster: Callable[..., Cluster]) -> None:
    cluster = make_cluster("spender")
    sid = _submit(cluster, "Spend it all", budget=0.3)
    cluster.start_worker("w1")
    (row,) = cluster.wait_all([sid])
    assert row.status == "budget_exhausted"
    with pytest.raises(BudgetExhausted, match="agx budget"):
        control.resume(cluster.app, sid)
    control.add_budget(cluster.app, sid, 0.5)
    control.resume(cluster.app, sid)
    time.sleep(0.5)
    (again,) = cluster.wait_all([sid])
    assert again.status == "budget_exhausted" and again.iteration > row.iteration
    pool = cluster.app.ledger.pool(again.pool_id)
    assert pool.allocated == 800_000 and pool.consumed <= pool.allocated
    assert pool.consumed > 0.9 * pool.allocated
    check_session_integrity(cluster.app, sid)


@pytest.mark.parametrize("status", ["awaiting_review", "paused", "budget_exhausted", "failed", "cancelled"])
def test_a_step_run_again_after_its_run_stopped_does_not_start_the_session_again(
    db_url: str, agx_home: Path, status: str
) -> None:
    # The worker died between our commit of the last iteration and DBOS recording the step's end:
    # DBOS runs the step again. The session must stay as the run left it (found by the chaos test:
    # a session awaiting review was set running again and spent its whole budget).
    with App.opened(Settings(home=agx_home, database_url=db_url)) as app:
        _check_run_over(app, status)


def _check_run_over(app: App, status: str) -> None:
    from agentic_executor.runtime.workflows import RunOver, WorkerContext

    session = submit_task(app, "Build a page", 1.0)
    with app.db.transaction() as conn:
        queries.update_session(conn, session.id, status=status)
        events_before = len(queries.list_events(conn, session.id))
    WorkerContext.app = app
    try:
        with pytest.raises(RunOver) as stopped:
            WorkerContext.run_for(session.id, 0)
        assert stopped.value.status == status
        with app.db.transaction() as conn:  # a resume made run 1: run 0's steps are superseded
            queries.update_session(conn, session.id, status="queued", run_no=1)
        with pytest.raises(RunOver) as superseded:
            WorkerContext.run_for(session.id, 0)
        assert superseded.value.status == "superseded"
    finally:
        WorkerContext.app = None
    with app.db.read() as conn:
        assert len(queries.list_events(conn, session.id)) == events_before
