"""Fixtures for worker tests: real `agx worker` processes on the test database, a fake model server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import pytest
import sqlalchemy as sa

from agentic_executor.app import App
from agentic_executor.config import Settings
from agentic_executor.store import queries
from agentic_executor.store.queries import TERMINAL
from agentic_executor.testing import FakeModelServer

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Cluster:
    """An App for the test's own reads and submits, plus worker processes sharing its database."""

    app: App
    env: dict[str, str]
    server: FakeModelServer
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start_worker(self, worker_id: str, *, concurrency: int = 4) -> subprocess.Popen[bytes]:
        log = open(Path(self.env["AGX_HOME"]) / f"worker-{worker_id}.log", "ab")  # noqa: SIM115 - kept for the proc
        proc = subprocess.Popen(
            [sys.executable, "-m", "agentic_executor", "worker", "--id", worker_id, "--concurrency", str(concurrency)],
            env=self.env,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        log.close()
        self.procs[worker_id] = proc
        return proc

    def kill(self, worker_id: str) -> None:
        """SIGKILL the worker and everything it started (a browser of a gate, a sandboxed command),
        as a machine dying or a supervisor killing the worker's cgroup would."""
        proc = self.procs.pop(worker_id)
        if proc.poll() is not None:
            log = (Path(self.env["AGX_HOME"]) / f"worker-{worker_id}.log").read_text()[-3000:]
            raise AssertionError(f"worker {worker_id} exited by itself with {proc.returncode}:\n{log}")
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()

    def wait_all(self, session_ids: list[str], timeout: float = 120) -> list[queries.SessionRow]:
        deadline = time.monotonic() + timeout
        while True:
            with self.app.db.transaction() as conn:
                rows = [queries.get_session(conn, sid) for sid in session_ids]
            if all(r.status in TERMINAL or r.status == "paused" for r in rows):
                return rows
            if time.monotonic() > deadline:
                stuck = [r.id for r in rows if r.status not in TERMINAL]
                with self.app.db.read() as conn:
                    stories = {sid: [e["type"] for e in queries.list_events(conn, sid)][-12:] for sid in stuck}
                raise AssertionError(f"sessions still running: {[(r.id, r.status) for r in rows]}; {stories}")
            time.sleep(0.2)


@pytest.fixture
def make_cluster(db_url: str, agx_home: Path) -> Iterator[Callable[..., Cluster]]:
    clusters: list[Cluster] = []
    dbos_schemas: list[str] = []

    def make(scenario: str = "builder", *, stream_delay: float = 0.0, takeover_s: float = 60.0) -> Cluster:
        server = FakeModelServer(scenario=scenario, stream_delay=stream_delay).start()
        env = {
            **os.environ,
            "AGX_HOME": str(agx_home),
            "ANTHROPIC_API_KEY": "test",
            "ANTHROPIC_BASE_URL": server.base_url,
            "AGX_QUEUE_POLLING_S": "0.1",
            "AGX_RETRY_BASE_DELAY": "0.01",
            "AGX_WORKER_TAKEOVER_S": str(takeover_s),
            "AGX_COMMAND_TIMEOUT_S": "20",
        }
        settings = Settings(home=agx_home, retry_base_delay=0.01, worker_takeover_s=takeover_s)
        if not db_url.startswith("sqlite"):
            schema = unquote(db_url.split("search_path%3D", 1)[1]) + "_dbos"
            dbos_schemas.append(schema)
            env |= {"AGX_DATABASE_URL": db_url, "AGX_DBOS_SCHEMA": schema}
            settings = Settings(
                home=agx_home,
                database_url=db_url,
                dbos_schema=schema,
                retry_base_delay=0.01,
                worker_takeover_s=takeover_s,
            )
        cluster = Cluster(App.open(settings), env, server)
        clusters.append(cluster)
        return cluster

    yield make
    for cluster in clusters:
        cluster.stop_all()
        cluster.app.close()
        cluster.server.stop()
    if dbos_schemas:
        engine = sa.create_engine(PG_ADMIN_URL)
        with engine.begin() as conn:
            for schema in dbos_schemas:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
