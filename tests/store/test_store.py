"""The store: migrations on open, the seed's table and column names, CHECKs, money in micro-dollars."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from agentic_executor.store.db import Database, open_database
from agentic_executor.store.tables import budget_pools, events, iterations, sessions

SEED_COLUMNS = {
    "agentic_iterations": {"cost", "input_tokens", "output_tokens", "created_at", "session_id", "iteration"},
    "agentic_sessions": {"status", "cost_consumed", "budget", "started_at", "issue_id", "iteration"},
    "agentic_events": {"issue_id", "event_type", "event_data", "created_at", "session_id"},
}


def test_migrations_create_the_seed_tables(db: Database) -> None:
    inspector = sa.inspect(db.engine)
    names = set(inspector.get_table_names())
    for table, columns in SEED_COLUMNS.items():
        assert table in names
        assert columns <= {c["name"] for c in inspector.get_columns(table)}
    assert {"agentic_messages", "agentic_convoys", "budget_pools", "budget_reservations", "alembic_version"} <= names


def _head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from agentic_executor.store.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def test_migrating_twice_is_a_no_op(db_url: str) -> None:
    first = open_database(db_url)
    second = open_database(db_url)
    with second.transaction() as conn:
        assert conn.execute(sa.text("select version_num from alembic_version")).scalar_one() == _head()
    first.dispose()
    second.dispose()


def _pool(conn: sa.Connection, allocated: int, consumed: int = 0, reserved: int = 0) -> None:
    conn.execute(
        budget_pools.insert().values(
            id="pool_x",
            kind="session",
            allocated_micros=allocated,
            consumed_micros=consumed,
            reserved_micros=reserved,
            created_at=datetime(2026, 1, 1),
        )
    )


def test_database_refuses_an_overspent_pool(db: Database) -> None:
    with pytest.raises(IntegrityError), db.transaction() as conn:
        _pool(conn, allocated=100, consumed=60, reserved=41)
    with db.transaction() as conn:
        _pool(conn, allocated=100, consumed=60, reserved=40)
    with pytest.raises(IntegrityError), db.transaction() as conn:
        conn.execute(budget_pools.update().values(consumed_micros=61))


def test_dollar_columns_derive_from_micros(db: Database) -> None:
    now = datetime(2026, 11, 20, 12, 0, 0)
    with db.transaction() as conn:
        _pool(conn, allocated=5_000_000)
        conn.execute(
            sessions.insert().values(
                id="agt_1",
                epic_id="epic_1",
                issue_id="agt_1",
                type="t",
                prompt="p",
                status="running",
                model="claude-sonnet-4-6",
                pool_id="pool_x",
                budget_micros=5_000_000,
                consumed_micros=2_340_000,
                created_at=now,
                updated_at=now,
                started_at=now,
            )
        )
        conn.execute(
            iterations.insert().values(
                session_id="agt_1",
                iteration=1,
                cost_micros=1_234_567,
                input_tokens=10,
                output_tokens=5,
                model="m",
                duration_ms=3,
                created_at=now,
            )
        )
        conn.execute(
            events.insert().values(
                session_id="agt_1", issue_id="agt_1", event_type="x", event_data=json.dumps({"a": 1}), created_at=now
            )
        )
    with db.transaction() as conn:
        row = conn.execute(sa.text("select budget, cost_consumed from agentic_sessions")).one()
        assert (row.budget, row.cost_consumed) == (5.0, 2.34)
        assert conn.execute(sa.text("select cost from agentic_iterations")).scalar_one() == 1.234567


def test_sqlite_file_uses_wal(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = open_database(f"sqlite:///{tmp_path / 'x' / 'agx.db'}")
    with db.transaction() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
    db.dispose()
