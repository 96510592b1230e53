"""The durable workflow that drives one run of one session, and the step that is one iteration.

Workflow id ``<session id>-run<N>``: one id per run, so DBOS never starts the same run twice, and
a session's next run (a resume) can only be enqueued once the previous one has stopped. Each
iteration is a DBOS step whose effects on our tables are keyed by (session, iteration) and
guarded (``advance_session``), so a step that runs again after a crash continues from the last
committed iteration instead of repeating it. Our tables stay the source of truth; DBOS gives the
queue, the recovery of a dead worker's runs, and exactly-once starts.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, ClassVar

from dbos import DBOS

from agentic_executor.app import App
from agentic_executor.engine.loop import LostOwnership, SessionRun, fail_session

log = logging.getLogger(__name__)
WORKFLOW_NAME = "agx_session_run"
QUEUE_NAME = "agx_sessions"


def workflow_id(session_id: str, run_no: int) -> str:
    return f"{session_id}-run{run_no}"


class RunOver(Exception):
    """The run this step belongs to has already stopped; ``status`` is how it ended."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


class WorkerContext:
    """What the steps of this process need: set once by the worker before DBOS launches."""

    app: ClassVar[App | None] = None
    provider_options: ClassVar[dict[str, Any]] = {}
    _runs: ClassVar[dict[str, SessionRun]] = {}
    _lock: ClassVar[threading.Lock] = threading.Lock()

    @classmethod
    def run_for(cls, session_id: str, run_no: int) -> SessionRun:
        from agentic_executor.providers import make_provider

        key = workflow_id(session_id, run_no)
        with cls._lock:
            run = cls._runs.get(key)
        if run is None:
            if cls.app is None:
                raise RuntimeError("no worker context: start the process with `agx worker` or `agx serve`")
            app = cls.app
            from agentic_executor.store import queries

            with app.db.transaction() as conn:
                session = queries.get_session(conn, session_id)
            if session.run_no != run_no:
                raise RunOver("superseded")  # a later run (a resume) owns the session now
            if session.status not in ("queued", "running"):
                # This run already stopped it: DBOS re-runs a step whose end it did not record
                # (the worker died between our commit and DBOS's), and a stopped run stays stopped.
                raise RunOver(session.status)
            model = session.model
            run = SessionRun(app, session_id, make_provider(app, model, **cls.provider_options), owner=key)
            run._start()  # recovers this session's abandoned reservations, restores the workspace
            with cls._lock:
                cls._runs[key] = run
        return run

    @classmethod
    def forget(cls, session_id: str, run_no: int) -> None:
        with cls._lock:
            run = cls._runs.pop(workflow_id(session_id, run_no), None)
        close = getattr(run.provider, "close", None) if run is not None else None
        if close is not None:
            close()


@DBOS.step(name="agx_session_iteration")
def session_iteration(session_id: str, run_no: int) -> str | None:
    """One iteration of the session (model call, tools, commit); the stop status or None."""
    try:
        return WorkerContext.run_for(session_id, run_no).iterate()
    except RunOver as over:
        return over.status
    except LostOwnership:
        return "superseded"
    except Exception as exc:  # a bug or an unexpected failure: stop visibly rather than retry forever
        log.exception("session %s failed", session_id)
        return fail_session(WorkerContext.app, session_id, f"internal error: {exc!r}")


@DBOS.workflow(name=WORKFLOW_NAME, max_recovery_attempts=10_000)
def session_run(session_id: str, run_no: int) -> str:
    try:
        while True:
            status = session_iteration(session_id, run_no)
            if status is not None:
                return status
    finally:
        WorkerContext.forget(session_id, run_no)
