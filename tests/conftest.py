"""Shared fixtures: a private AGX_HOME per test, and a database on SQLite and on PostgreSQL.

``AGX_TEST_DATABASES`` picks the backends (default ``sqlite,postgresql``). PostgreSQL tests use
a fresh schema each, on ``AGX_TEST_PG_URL`` (default the local server's ``test`` database); they
are skipped, with the reason, only when the server is unreachable and ``CI`` is not set.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from agentic_executor.store.db import Database, open_database

PG_URL = os.environ.get("AGX_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKENDS = [b.strip() for b in os.environ.get("AGX_TEST_DATABASES", "sqlite,postgresql").split(",") if b.strip()]


@pytest.fixture(autouse=True)
def agx_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "agx-home"
    monkeypatch.setenv("AGX_HOME", str(home))
    monkeypatch.delenv("AGX_DATABASE_URL", raising=False)
    return home


def _pg_reachable() -> str | None:
    try:
        engine = sa.create_engine(PG_URL)
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect means unreachable
        return str(exc).splitlines()[0]


@pytest.fixture(scope="session")
def pg_available() -> None:
    problem = _pg_reachable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL at {PG_URL} is unreachable in CI: {problem}")
        pytest.skip(f"PostgreSQL at {PG_URL} is unreachable: {problem}")


def make_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    request.getfixturevalue("pg_available")
    schema = f"agx_t_{secrets.token_hex(5)}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    request.addfinalizer(drop)
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return make_url(request.param, tmp_path, request)


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    yield database
    database.dispose()


def require_tool(find: Callable[[], str], error: type[Exception]) -> str:
    """The tool's path (Chromium, Lighthouse, ...); without it, skip with the reason, except in CI,
    which installs every tool the tests use, where it fails."""
    try:
        return find()
    except error as exc:
        if os.environ.get("CI"):
            pytest.fail(f"a tool is missing in CI: {exc}")
        pytest.skip(f"a tool is missing: {exc}")
