"""The durable queue: how fast workers start queued sessions, and how fast a dead worker's sessions
run again (restarted with the same id, and taken over by another worker after the timeout).

Real ``agx worker`` processes on an embedded SQLite home, the fake Messages API in-process.
Start rate: N sessions are queued first, then one worker with room for all of them starts; the
rate is N over the spread of their ``started_at`` stamps. Recovery: sessions that run for a long
time (``spender`` with small ``max_tokens``) are running on worker A when A's process group is
SIGKILLed; the figure is the time from the kill until every one of them has committed a new
iteration.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from agentic_executor.app import App
from agentic_executor.config import Settings
from agentic_executor.engine.submit import submit_task
from agentic_executor.runtime import control
from agentic_executor.store import queries
from agentic_executor.testing import FakeModelServer

from .common import Section, Table

SESSIONS = 60
RECOVERING = 4
TAKEOVER_S = 5.0


def _env(home: Path, server: FakeModelServer, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "AGX_HOME": str(home),
        "ANTHROPIC_API_KEY": "bench",
        "ANTHROPIC_BASE_URL": server.base_url,
        "AGX_QUEUE_POLLING_S": "0.1",
        "AGX_RETRY_BASE_DELAY": "0.01",
        **extra,
    }


def _worker(env: dict[str, str], worker_id: str, concurrency: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "agentic_executor", "worker", "--id", worker_id, "--concurrency", str(concurrency)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _stop(proc: subprocess.Popen[bytes], *, kill: bool = False) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
    proc.wait(timeout=60)


def _iterations(app: App, ids: list[str]) -> dict[str, int]:
    with app.db.read() as conn:
        return {sid: queries.get_session(conn, sid).iteration for sid in ids}


def _start_rate(workdir: Path) -> list[str]:
    home = workdir / "start-rate"
    with FakeModelServer(scenario="builder") as server:
        app = App.open(Settings(home=home))
        ids = []
        for i in range(SESSIONS):
            session = submit_task(app, f"Build page {i}", 1.0, task_type="task")
            control.enqueue(app, session.id)
            ids.append(session.id)
        proc = _worker(_env(home, server), "rate", SESSIONS)
        deadline = time.monotonic() + 240
        try:
            while time.monotonic() < deadline:
                with app.db.read() as conn:
                    rows = [queries.get_session(conn, sid) for sid in ids]
                if all(r.status in queries.TERMINAL for r in rows):
                    break
                time.sleep(0.2)
        finally:
            _stop(proc)
        starts = sorted(r.started_at for r in rows if r.started_at is not None)
        app.close()
    spread = (starts[-1] - starts[0]).total_seconds() if len(starts) > 1 else float("nan")
    return [str(len(starts)), f"{spread:.2f} s", f"{(len(starts) - 1) / spread:.1f}" if spread else "n/a"]


def _recovery(workdir: Path, mode: str) -> list[str]:
    home = workdir / f"recovery-{mode}"
    with FakeModelServer(scenario="spender", stream_delay=0.005) as server:
        env = _env(home, server, AGX_MAX_TOKENS="300", AGX_WORKER_TAKEOVER_S=str(TAKEOVER_S))
        app = App.open(Settings(home=home, max_tokens=300))
        ids = []
        for i in range(RECOVERING):
            session = submit_task(app, f"Spend slowly {i}", 100.0, task_type="task")
            control.enqueue(app, session.id)
            ids.append(session.id)
        a = _worker(env, "a", RECOVERING)
        b = _worker(env, "b", RECOVERING) if mode == "takeover" else None
        procs = [p for p in (a, b) if p is not None]
        try:
            deadline = time.monotonic() + 60
            while min(_iterations(app, ids).values()) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            if b is not None:  # b must not have taken any: all sessions run on a
                time.sleep(0.5)
            at_kill = _iterations(app, ids)
            killed = time.monotonic()
            _stop(a, kill=True)
            if mode == "restart":
                procs.append(_worker(env, "a", RECOVERING))
            resumed: dict[str, float] = {}
            while len(resumed) < len(ids) and time.monotonic() - killed < 120:
                for sid, it in _iterations(app, ids).items():
                    if sid not in resumed and it > at_kill[sid] + 1:  # +1: a commit in flight at the kill
                        resumed[sid] = time.monotonic() - killed
                time.sleep(0.05)
        finally:
            for proc in procs:
                _stop(proc, kill=True)
            app.close()
    times = sorted(resumed.values())
    label = "same id restarted at once" if mode == "restart" else f"taken over by worker b (timeout {TAKEOVER_S:.0f} s)"
    return [
        label,
        f"{len(times)}/{len(ids)}",
        f"{times[0]:.2f} s" if times else "-",
        f"{times[-1]:.2f} s" if times else "-",
    ]


def run(workdir: Path) -> Section:
    workdir.mkdir(parents=True, exist_ok=True)
    rate = _start_rate(workdir)
    restart = _recovery(workdir, "restart")
    takeover = _recovery(workdir, "takeover")
    return Section(
        title="5. Durable queue: start rate and recovery after a worker dies (SQLite, real worker processes)",
        about=__doc__ or "",
        tables=[
            Table(
                "Sessions started by one worker (concurrency = N)",
                ["sessions", "first → last start", "starts per second"],
                [rate],
            ),
            Table(
                "Time from SIGKILL of worker a to its sessions committing new iterations",
                ["recovery", "sessions resumed", "first", "last"],
                [restart, takeover],
            ),
        ],
        notes=[
            "A restarted worker pays process start-up (imports, DBOS launch) before DBOS recovers its runs; "
            "a takeover waits for the heartbeat timeout (`AGX_WORKER_TAKEOVER_S`, default 60 s) plus one beat."
        ],
        summary=[
            f"start rate: {rate[2]} sessions/s over {rate[0]}",
            f"restart: all resumed after {restart[3]}; takeover: after {takeover[3]}",
        ],
    )
