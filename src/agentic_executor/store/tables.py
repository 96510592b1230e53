"""The schema: table names and the columns that the seed's monitoring SQL reads are kept verbatim.

Money is integer micro-dollars (``*_micros``). The seed's queries read dollars (``cost``,
``cost_consumed``, ``budget``): those are generated columns derived from the micro-dollar ones,
so no code ever writes a float amount. ``budget_pools`` carries the ledger invariant as a CHECK:
``consumed + reserved <= allocated`` is enforced by the database itself.

Timestamps are naive UTC, so SQLite's ``datetime('now', '-7 days')`` comparisons in the seed's
SQL work unchanged.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

budget_pools = Table(
    "budget_pools",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("kind", String(16), nullable=False),  # session | convoy
    Column("allocated_micros", BigInteger, nullable=False),
    Column("consumed_micros", BigInteger, nullable=False, server_default="0"),
    Column("reserved_micros", BigInteger, nullable=False, server_default="0"),
    Column("created_at", DateTime, nullable=False),
    CheckConstraint("allocated_micros >= 0", name="ck_pool_allocated_nonneg"),
    CheckConstraint("consumed_micros >= 0", name="ck_pool_consumed_nonneg"),
    CheckConstraint("reserved_micros >= 0", name="ck_pool_reserved_nonneg"),
    CheckConstraint("consumed_micros + reserved_micros <= allocated_micros", name="ck_pool_no_overage"),
)

budget_reservations = Table(
    "budget_reservations",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("pool_ids", Text, nullable=False),  # JSON list, sorted
    Column("amount_micros", BigInteger, nullable=False),
    Column("actual_micros", BigInteger),
    Column("status", String(16), nullable=False),  # open | settled
    Column("settled_as", String(16)),  # actual | worst_case
    Column("session_id", String(40)),
    Column("iteration", Integer),
    Column("attempt", Integer),
    Column("owner", String(120)),
    Column("created_at", DateTime, nullable=False),
    Column("settled_at", DateTime),
    CheckConstraint("amount_micros >= 0", name="ck_reservation_amount_nonneg"),
    Index("ix_reservations_open", "status", "owner"),
    Index("ix_reservations_session", "session_id"),
)

convoys = Table(
    "agentic_convoys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", Text, nullable=False),
    Column("pool_id", String(40), ForeignKey("budget_pools.id"), nullable=False),
    Column("per_task_budget_micros", BigInteger, nullable=False),
    Column("status", String(24), nullable=False),
    Column("tenant", String(64), nullable=False, server_default="default"),
    Column("created_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Index("ix_convoys_tenant", "tenant", "created_at"),
)

sessions = Table(
    "agentic_sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("epic_id", String(40), nullable=False),
    Column("convoy_id", String(40), ForeignKey("agentic_convoys.id")),
    Column("issue_id", String(40), nullable=False),
    Column("type", String(64), nullable=False),
    Column("title", Text),
    Column("prompt", Text, nullable=False),
    Column("acceptance_criteria", Text, nullable=False, server_default="[]"),  # JSON list
    Column("status", String(24), nullable=False),
    Column("iteration", Integer, nullable=False, server_default="0"),
    Column("model", String(120), nullable=False),
    Column("pool_id", String(40), ForeignKey("budget_pools.id"), nullable=False),
    Column("budget_micros", BigInteger, nullable=False),
    Column("consumed_micros", BigInteger, nullable=False, server_default="0"),
    Column("budget", Float, Computed("budget_micros / 1000000.0", persisted=True)),
    Column("cost_consumed", Float, Computed("consumed_micros / 1000000.0", persisted=True)),
    Column("workspace", Text),
    Column("preview_url", Text),
    Column("summary", Text),
    Column("warning_sent", Boolean, nullable=False, server_default="0"),
    Column("rejections", Integer, nullable=False, server_default="0"),
    Column("run_no", Integer, nullable=False, server_default="0"),  # one durable workflow per run
    Column("pause_requested", Boolean, nullable=False, server_default="0"),
    Column("cancel_requested", Boolean, nullable=False, server_default="0"),
    Column("created_at", DateTime, nullable=False),
    Column("started_at", DateTime),
    Column("finished_at", DateTime),
    Column("updated_at", DateTime, nullable=False),
    Column("tenant", String(64), nullable=False, server_default="default"),  # who may see it through the API
    Index("ix_sessions_status", "status"),
    Index("ix_sessions_convoy", "convoy_id"),
    Index("ix_sessions_tenant", "tenant", "created_at"),
)

iterations = Table(
    "agentic_iterations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(40), ForeignKey("agentic_sessions.id"), nullable=False),
    Column("iteration", Integer, nullable=False),
    Column("cost_micros", BigInteger, nullable=False),
    Column("cost", Float, Computed("cost_micros / 1000000.0", persisted=True)),
    Column("input_tokens", Integer, nullable=False),
    Column("output_tokens", Integer, nullable=False),
    Column("cache_read_tokens", Integer, nullable=False, server_default="0"),
    Column("cache_write_tokens", Integer, nullable=False, server_default="0"),
    Column("model", String(120), nullable=False),
    Column("stop_reason", String(32)),
    Column("attempts", Integer, nullable=False, server_default="1"),
    Column("duration_ms", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("session_id", "iteration", name="uq_iteration"),
)

messages = Table(
    "agentic_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(40), ForeignKey("agentic_sessions.id"), nullable=False),
    Column("seq", Integer, nullable=False),  # message position in the conversation
    Column("role", String(16), nullable=False),
    Column("block_index", Integer, nullable=False),
    Column("block_type", String(32), nullable=False),
    Column("block", Text, nullable=False),  # the block's JSON exactly as sent or received
    Column("iteration", Integer, nullable=False),
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("session_id", "seq", "block_index", name="uq_message_block"),
)

events = Table(
    "agentic_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(40), nullable=False),
    Column("issue_id", String(40), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("event_data", Text, nullable=False, server_default="{}"),  # JSON object
    Column("created_at", DateTime, nullable=False),
    Index("ix_events_session", "session_id", "id"),
)

checkpoints = Table(
    "agentic_checkpoints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", String(40), ForeignKey("agentic_sessions.id"), nullable=False),
    Column("iteration", Integer, nullable=False),
    Column("message_count", Integer, nullable=False),  # conversation offset matching the workspace
    Column("commit_sha", String(64), nullable=False),
    Column("bundle", LargeBinary, nullable=False),  # `git bundle` of the workspace: restorable anywhere
    Column("created_at", DateTime, nullable=False),
    UniqueConstraint("session_id", "iteration", name="uq_checkpoint"),
)

workers = Table(
    "agentic_workers",
    metadata,
    Column("id", String(120), primary_key=True),
    Column("host", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("heartbeat_at", DateTime, nullable=False),
    Column("taken_over_by", String(120)),
    Column("taken_over_at", DateTime),
)

api_tokens = Table(
    "agentic_api_tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(120), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("scope", String(16), nullable=False),  # submit | read | review | admin
    Column("token_hash", String(64), nullable=False),  # sha256 hex of the secret; the secret is never stored
    Column("created_at", DateTime, nullable=False),
    Column("revoked_at", DateTime),
    UniqueConstraint("token_hash", name="uq_api_token_hash"),
)
