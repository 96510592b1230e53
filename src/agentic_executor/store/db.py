"""Connections: one engine per database URL, SQLite tuned for many writers, migrations on open.

SQLite connections use WAL, ``synchronous=FULL`` (a committed reservation survives a power cut,
not only a killed process), a long ``busy_timeout`` and ``BEGIN IMMEDIATE`` transactions, so two
writers never deadlock upgrading a read lock. PostgreSQL runs at READ COMMITTED: every ledger
write is a single conditional UPDATE, which re-checks its WHERE clause on the newest row version.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text

MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 0x616778  # "agx": serializes concurrent migrators on PostgreSQL


class Database:
    """A database the whole service shares; ``transaction()`` is the only way to write."""

    def __init__(self, url: str, *, pool_size: int = 5) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url)
        else:
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=20, pool_pre_ping=True)

    @contextmanager
    def transaction(self, *, durable: bool = True) -> Iterator[Connection]:
        """One atomic unit of work: committed on normal exit, rolled back on any exception.

        ``durable=False`` (SQLite) skips the fsync at commit: the commit survives a killed process
        but may be lost with the machine, until the next durable commit, whose fsync of the
        write-ahead log makes every earlier commit durable too.
        """
        with self.engine.connect() as conn:
            if not durable:
                conn = conn.execution_options(agx_relaxed=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A consistent read that takes no write lock (SQLite: a deferred transaction)."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(agx_read_only=True)
            with conn.begin():
                yield conn

    def migrate(self) -> None:
        """Bring the schema to the newest revision; safe when several processes start at once."""
        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            if not self.is_sqlite:
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    def dispose(self) -> None:
        self.engine.dispose()


_SQLITE_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()


def _drop_inherited_connections() -> None:
    for engine in list(_SQLITE_ENGINES):
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_drop_inherited_connections)


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # Pooled connections (the PRAGMAs and the schema are read once per connection, and WAL is not
    # checkpointed on every close); a forked child drops the parent's connections unused.
    engine = create_engine(url, pool_size=8, max_overflow=32, connect_args={"timeout": 60, "check_same_thread": False})
    _SQLITE_ENGINES.add(engine)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        options = conn.get_execution_options()
        if options.get("agx_read_only"):
            conn.exec_driver_sql("BEGIN")
            return
        mode = "NORMAL" if options.get("agx_relaxed") else "FULL"
        info = conn.connection.info
        if info.get("agx_synchronous") != mode:  # a pooled connection keeps its last mode
            conn.exec_driver_sql(f"PRAGMA synchronous={mode}")
            info["agx_synchronous"] = mode
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def open_database(url: str) -> Database:
    db = Database(url)
    db.migrate()
    return db
