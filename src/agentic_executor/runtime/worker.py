"""A worker process: runs queued session runs, heartbeats, and takes over dead workers' runs.

Each worker has a stable id (its DBOS executor id). Restarted with the same id, DBOS recovers
the runs it had in flight. A worker that never comes back is detected by its stale heartbeat:
after ``worker_takeover_s`` one live worker claims it (one conditional UPDATE, so exactly one
claims it) and asks DBOS to recover its pending runs, which re-enqueues them for anyone.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import timedelta
from typing import Any

from dbos import DBOS
from sqlalchemy import insert, select, update

from agentic_executor.app import App
from agentic_executor.runtime import dbos_setup
from agentic_executor.runtime.workflows import QUEUE_NAME, WorkerContext
from agentic_executor.store.queries import utcnow
from agentic_executor.store.tables import workers

log = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    def __init__(
        self,
        app: App,
        worker_id: str,
        *,
        concurrency: int | None = None,
        provider_options: dict[str, Any] | None = None,
    ) -> None:
        self.app, self.id = app, worker_id
        self.concurrency = concurrency or app.settings.worker_concurrency
        self.stop_event = threading.Event()
        WorkerContext.app = app
        WorkerContext.provider_options = provider_options or {}
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        s = self.app.settings
        self._beat()
        DBOS(config=dbos_setup.dbos_config(s, self.id))
        DBOS.launch()
        DBOS.register_queue(
            QUEUE_NAME,
            worker_concurrency=self.concurrency,
            global_concurrency=s.global_concurrency or None,
            polling_interval_sec=s.queue_polling_s,
        )
        thread = threading.Thread(target=self._heartbeat_loop, name="agx-heartbeat", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self._threads:
            thread.join(timeout=5)
        DBOS.destroy(workflow_completion_timeout_sec=0)

    def run_forever(self) -> None:
        """Until SIGTERM or SIGINT."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stop_event.set())
        self.start()
        try:
            self.stop_event.wait()
        finally:
            self.stop()

    # ---- liveness ------------------------------------------------------------------------
    def _heartbeat_loop(self) -> None:
        interval = max(self.app.settings.worker_takeover_s / 6, 0.2)
        while not self.stop_event.wait(interval):
            try:
                self._beat()
                self._take_over_dead()
            except Exception:  # a flaky database must not kill the worker; the next beat retries
                log.exception("heartbeat failed")

    def _beat(self) -> None:
        now = utcnow()
        with self.app.db.transaction() as conn:
            done = conn.execute(
                update(workers)
                .where(workers.c.id == self.id)
                .values(heartbeat_at=now, pid=os.getpid(), taken_over_by=None, taken_over_at=None)
            )
            if done.rowcount == 0:
                conn.execute(
                    insert(workers).values(
                        id=self.id, host=socket.gethostname(), pid=os.getpid(), started_at=now, heartbeat_at=now
                    )
                )

    def _take_over_dead(self) -> list[str]:
        cutoff = utcnow() - timedelta(seconds=self.app.settings.worker_takeover_s)
        with self.app.db.transaction() as conn:
            stale = list(
                conn.execute(
                    select(workers.c.id).where(
                        workers.c.heartbeat_at < cutoff, workers.c.taken_over_by.is_(None), workers.c.id != self.id
                    )
                ).scalars()
            )
        claimed = []
        for dead in stale:
            with self.app.db.transaction() as conn:
                won = (
                    conn.execute(
                        update(workers)
                        .where(workers.c.id == dead, workers.c.taken_over_by.is_(None), workers.c.heartbeat_at < cutoff)
                        .values(taken_over_by=self.id, taken_over_at=utcnow())
                    ).rowcount
                    == 1
                )
            if won:
                handles = DBOS._recover_pending_workflows([dead])
                log.warning("worker %s took over %d runs of dead worker %s", self.id, len(handles), dead)
                claimed.append(dead)
        return claimed
