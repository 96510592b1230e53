"""API throughput on SQLite: submits, status reads and dashboard pages per second against a live ``agx serve``.

The server runs in a subprocess (``--no-worker``, auth on, one uvicorn process) on loopback; the
load generator is a minimal HTTP/1.1 keep-alive client on asyncio, so that the client costs as
little CPU as possible on the same machine. Each phase is bounded in count and in time.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SUBMITS = 300
STATUS_READS = 20_000
PHASE_SECONDS = 15.0
SUBMIT_CONCURRENCY = 8
STATUS_CONCURRENCY = 32
TARGET_STATUS_RPS = 500
PAGE_READS = 2_000
PAGE_CONCURRENCY = 8


@dataclass
class Phase:
    name: str
    requests: int
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(int(p * len(ordered)), len(ordered) - 1)] * 1000 if ordered else 0.0


async def _run_phase(
    name: str, port: int, token: str, requests: list[tuple[str, str, bytes]], concurrency: int
) -> Phase:
    queue: asyncio.Queue[tuple[str, str, bytes]] = asyncio.Queue()
    for r in requests:
        queue.put_nowait(r)
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + PHASE_SECONDS

    async def client() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < deadline:
                try:
                    method, path, body = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                head = (
                    f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
                    f"Cookie: agx_token={token}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                started = time.perf_counter()
                writer.write(head.encode() + body)
                await writer.drain()
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name_, _, value = line.decode().partition(":")
                    if name_.lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                if status >= 300:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return Phase(name, len(latencies), time.perf_counter() - started, latencies, errors)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def measure(home: Path) -> list[tuple[Phase, int]]:
    from agentic_executor.api.auth import create_token
    from agentic_executor.app import App
    from agentic_executor.config import Settings

    env = {**os.environ, "AGX_HOME": str(home)}
    env.pop("AGX_DATABASE_URL", None)
    app = App.open(Settings(home=home))
    token = create_token(app, "bench", "submit", "bench")
    app.close()
    port = _free_port()
    log = open(home / "serve.log", "wb")  # noqa: SIM115 - kept open for the server's life
    server = subprocess.Popen(
        [sys.executable, "-m", "agentic_executor.cli_serve", "serve", "--no-worker", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    try:
        _wait_listening(port, server)
        body = json.dumps({"type": "bench", "prompt": "Build a page", "budget": 1.0}).encode()
        submit = asyncio.run(
            _run_phase("submit", port, token, [("POST", "/api/agentic/submit", body)] * SUBMITS, SUBMIT_CONCURRENCY)
        )
        ids = _session_ids(port, token)
        reads = [("GET", f"/api/agentic/sessions/{ids[i % len(ids)]}", b"") for i in range(STATUS_READS)]
        status = asyncio.run(_run_phase("status", port, token, reads, STATUS_CONCURRENCY))
        pages = [("GET", f"/ui/sessions/{ids[i % len(ids)]}", b"") for i in range(PAGE_READS)]
        session_page = asyncio.run(_run_phase("page: a session", port, token, pages, PAGE_CONCURRENCY))
        lists = [("GET", "/ui/sessions", b"")] * PAGE_READS
        list_page = asyncio.run(_run_phase("page: 50 sessions", port, token, lists, PAGE_CONCURRENCY))
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        log.close()
    return [
        (submit, SUBMIT_CONCURRENCY),
        (status, STATUS_CONCURRENCY),
        (session_page, PAGE_CONCURRENCY),
        (list_page, PAGE_CONCURRENCY),
    ]


def _wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("agx serve did not start")


def _session_ids(port: int, token: str) -> list[str]:
    import httpx

    page = httpx.get(
        f"http://127.0.0.1:{port}/api/agentic/sessions",
        params={"limit": 100},
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    return [s["id"] for s in page["sessions"]]


def main() -> list[str]:
    """Markdown lines for bench/RESULTS.md."""
    with tempfile.TemporaryDirectory(prefix="agx-bench-api-") as tmp:
        phases = measure(Path(tmp))
    status = phases[1][0]
    verdict = "meets" if status.rps >= TARGET_STATUS_RPS else "MISSES"
    lines = [
        "## API (agx serve on SQLite, one uvicorn process, auth on, loopback)",
        "",
        f"Load generator: an asyncio HTTP/1.1 keep-alive client in this process; {os.cpu_count()} CPUs shared.",
        "",
        "| phase | requests | concurrency | req/s | p50 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for phase, concurrency in phases:
        lines.append(
            f"| {phase.name} | {phase.requests} | {concurrency} | {phase.rps:.0f} | "
            f"{phase.percentile(0.5):.1f} | {phase.percentile(0.99):.1f} | {phase.errors} |"
        )
    lines += [
        "",
        f"Status reads {verdict} the target of {TARGET_STATUS_RPS}/s. A submit writes the session, its pool and "
        "events (SQLite `synchronous=FULL`), then enqueues it through the process's DBOS client. The dashboard "
        "pages are rendered on the server (Jinja2) from the same reads; a queued session's page has no iterations.",
        "",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
