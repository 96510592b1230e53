"""Fixtures for API tests: a real ``agx serve`` (uvicorn in a subprocess) on a free port, with its
in-process worker, on SQLite or PostgreSQL, driving the fake Messages API server."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
import sqlalchemy as sa

from agentic_executor.api.auth import create_token
from agentic_executor.api.review import FEEDBACK
from agentic_executor.app import App
from agentic_executor.config import Settings
from agentic_executor.store import queries
from agentic_executor.store.queries import TERMINAL
from agentic_executor.testing import FakeModelServer
from agentic_executor.testing.content import PAGE_PATH, filler_text
from agentic_executor.testing.scenarios import Block, Failure, ScenarioRequest, builder_step, text, write_page

from ..conftest import BACKENDS, PG_URL, make_url

REVIEW_FEEDBACK = FEEDBACK.split(":", 1)[0]
SPEND = "[spend]"
"""A prompt containing this gets a model that writes prose and never completes (a budget test)."""


@dataclass(frozen=True)
class ApiScenario:
    """The builder for most tasks; prose for ever for ``SPEND`` tasks; a rewrite after review feedback."""

    name: str = "api"

    def respond(self, req: ScenarioRequest) -> list[Block] | Failure:
        conv = req.conversation
        first = conv.messages[0] if conv.messages else {}
        if SPEND in json.dumps(first.get("content", "")):
            return [text(filler_text(4 * min(req.max_tokens, 600)))]
        if REVIEW_FEEDBACK in conv.last_user_text:
            return write_page(req, len(conv.calls("write_file", PAGE_PATH)))
        return builder_step(req)


FAST_GATES = '[task_types.template-generation]\ngates = ["security"]\n'
"""Browser gates take seconds per claim: API tests check the API, tests/gates checks the gates."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A live ``agx serve`` and an App on the same database for the test's own reads and writes."""

    base: str
    app: App
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    fake: FakeModelServer
    log: Path
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, scope: str, tenant: str) -> str:
        """A new token (the server sees it at its first use)."""
        return create_token(self.app, f"{scope}-{tenant}-{secrets.token_hex(2)}", scope, tenant)

    def client(self, token: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=30, **kwargs)

    def session(self, session_id: str) -> queries.SessionRow:
        with self.app.db.read() as conn:
            return queries.get_session(conn, session_id)

    def wait(
        self, session_ids: list[str], until: Callable[[queries.SessionRow], bool] | None = None, timeout: float = 60
    ) -> list[queries.SessionRow]:
        until = until or (lambda s: s.status in TERMINAL or s.status == "paused")
        deadline = time.monotonic() + timeout
        while True:
            rows = [self.session(sid) for sid in session_ids]
            if all(until(r) for r in rows):
                return rows
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"not there: {[(r.id, r.status) for r in rows]}\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.app.close()
        self.fake.stop()


def start_server(
    home: Path,
    db_url: str,
    *,
    stream_delay: float = 0.0,
    worker: bool = True,
    concurrency: int = 4,
    env: dict[str, str] | None = None,
    tokens: dict[str, tuple[str, str]] | None = None,
) -> Server:
    """``tokens``: name → (scope, tenant), created before the server starts (so auth is on)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "gates.toml").write_text(FAST_GATES)
    fake = FakeModelServer(scenario=ApiScenario(), stream_delay=stream_delay).start()
    full_env = {
        **os.environ,
        "AGX_HOME": str(home),
        "ANTHROPIC_API_KEY": "test",
        "ANTHROPIC_BASE_URL": fake.base_url,
        "AGX_QUEUE_POLLING_S": "0.1",
        "AGX_RETRY_BASE_DELAY": "0.01",
        "AGX_COMMAND_TIMEOUT_S": "20",
        **(env or {}),
    }
    settings = Settings(home=home)
    if not db_url.startswith("sqlite"):
        schema = unquote(db_url.split("search_path%3D", 1)[1]) + "_dbos"
        full_env |= {"AGX_DATABASE_URL": db_url, "AGX_DBOS_SCHEMA": schema}
        settings = Settings(home=home, database_url=db_url, dbos_schema=schema)
    else:
        full_env["AGX_DATABASE_URL"] = db_url
        settings = Settings(home=home, database_url=db_url)
    app = App.open(settings)
    secrets = {name: create_token(app, name, scope, tenant) for name, (scope, tenant) in (tokens or {}).items()}
    port = free_port()
    argv = [sys.executable, "-m", "agentic_executor.cli_serve", "serve", "--port", str(port)]
    argv += ["--concurrency", str(concurrency)] if worker else ["--no-worker"]
    log = home / f"serve-{port}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, env=full_env, stdout=out, stderr=out)
    server = Server(f"http://127.0.0.1:{port}", app, full_env, proc, fake, log, secrets)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{server.base}/openapi.json", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"agx serve did not start:\n{log.read_text()}")
        time.sleep(0.1)


def drop_dbos_schema(env: dict[str, str]) -> None:
    schema = env.get("AGX_DBOS_SCHEMA")
    if schema:
        engine = sa.create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def api_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server per backend for the whole run (its PostgreSQL DBOS schema alone takes ~20 s to
    create): auth on, a worker running six sessions at once, the ``ApiScenario`` model. Each test
    works in tenants of its own (``Server.token``), so tests do not see each other's sessions."""
    tmp = tmp_path_factory.mktemp("api")
    server = start_server(
        tmp / "home",
        make_url(request.param, tmp, request),
        stream_delay=0.001,
        concurrency=6,
        env={"AGX_MAX_TOKENS": "4000"},
        tokens={"operator": ("admin", "operators")},
    )
    yield server
    server.stop()
    drop_dbos_schema(server.env)


@pytest.fixture
def make_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Server]]:
    """Servers for one test, on the test's backend (``db_url`` when the test asks for it, else SQLite)."""
    servers: list[Server] = []

    def make(backend: str = "sqlite", **kwargs: Any) -> Server:
        n = len(servers)
        server = start_server(tmp_path / f"home{n}", make_url(backend, tmp_path / f"db{n}", request), **kwargs)
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
        drop_dbos_schema(server.env)
