"""Workers SIGKILLed at random moments while sessions run: every session still ends as an
undisturbed run would, with nothing lost, nothing duplicated and no pool over its allocation."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agentic_executor.engine.submit import submit_task
from agentic_executor.runtime import control
from agentic_executor.store import queries
from agentic_executor.store.queries import TERMINAL
from agentic_executor.testing.content import studio_page

from ..runtime.conftest import Cluster
from ..runtime.integrity import check_session_integrity

KILLS = 20


def _progress(cluster: Cluster, ids: list[str]) -> int:
    with cluster.app.db.transaction() as conn:
        return sum(queries.get_session(conn, sid).iteration for sid in ids)


def _submit(cluster: Cluster, n: int, *, first: int) -> list[str]:
    ids = []
    for i in range(first, first + n):
        session = submit_task(cluster.app, f"Build a fitness studio page, take {i}", 5.0, task_type="task")
        control.enqueue(cluster.app, session.id)
        ids.append(session.id)
    return ids


@pytest.mark.slow
def test_twenty_sigkills_change_nothing_but_the_bill(make_cluster: Callable[..., Cluster]) -> None:
    rng = random.Random(20261124)
    cluster = make_cluster("injector", stream_delay=0.02)
    cluster.app.settings.checkpoint_every = 2
    cluster.env["AGX_CHECKPOINT_EVERY"] = "2"
    ids = _submit(cluster, 12, first=0)

    kills = 0
    while kills < KILLS:
        before = _progress(cluster, ids)
        cluster.start_worker("chaos-worker", concurrency=3)
        deadline = time.monotonic() + 30
        while _progress(cluster, ids) == before and time.monotonic() < deadline:
            time.sleep(0.02)  # wait until this worker is driving sessions...
        time.sleep(rng.uniform(0.0, 0.4))  # ...then kill it in a model call, a tool run or a commit
        cluster.kill("chaos-worker")
        kills += 1
        with cluster.app.db.transaction() as conn:
            finished = all(queries.get_session(conn, sid).status in TERMINAL for sid in ids)
        if finished and kills < KILLS:  # a fast machine: more work, so every kill lands in a run
            ids += _submit(cluster, 4, first=len(ids))
    cluster.start_worker("chaos-worker", concurrency=3)  # the same id: DBOS recovers its runs
    rows = cluster.wait_all(ids, timeout=180)

    with cluster.app.db.transaction() as conn:
        events = [e["type"] for sid in ids for e in queries.list_events(conn, sid)]
    assert "workspace_restored" in events  # kills landed inside runs, not only between them
    assert "checkpoint" in events
    for row in rows:
        if row.status != "awaiting_review":
            with cluster.app.db.read() as conn:
                story = [(e["type"], e["data"]) for e in queries.list_events(conn, row.id)]
            raise AssertionError(f"{row.id} ended {row.status}: {story}")
        check_session_integrity(cluster.app, row.id)
        workspace = Path(row.workspace or "")
        assert (workspace / "index.html").read_text() == studio_page(0)  # same as an undisturbed run
        assert (workspace / "notes.md").is_file()
