"""Reads and writes of sessions, messages, iterations and events: every statement the engine runs.

Functions that write take the caller's ``Connection`` so that one iteration (its messages, its
iteration row, its events, the session's new state) commits in a single transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from agentic_executor.errors import NotFound
from agentic_executor.store.tables import (
    api_tokens,
    budget_pools,
    checkpoints,
    convoys,
    events,
    iterations,
    messages,
    sessions,
)

TERMINAL = frozenset({"awaiting_review", "approved", "budget_exhausted", "failed", "cancelled"})


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class SessionRow:
    id: str
    epic_id: str
    convoy_id: str | None
    type: str
    title: str | None
    prompt: str
    acceptance_criteria: list[str]
    status: str
    iteration: int
    model: str
    pool_id: str
    budget_micros: int
    consumed_micros: int
    workspace: str | None
    preview_url: str | None
    summary: str | None
    warning_sent: bool
    rejections: int
    run_no: int
    pause_requested: bool
    cancel_requested: bool
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


def _session_from_row(row: Any) -> SessionRow:
    data = {name: getattr(row, name) for name in SessionRow.__dataclass_fields__}
    data["acceptance_criteria"] = json.loads(row.acceptance_criteria or "[]")
    data["warning_sent"] = bool(row.warning_sent)
    data["pause_requested"] = bool(row.pause_requested)
    data["cancel_requested"] = bool(row.cancel_requested)
    return SessionRow(**data)


def insert_session(conn: Connection, **values: Any) -> None:
    now = utcnow()
    values["acceptance_criteria"] = json.dumps(values.get("acceptance_criteria") or [])
    values.setdefault("issue_id", values["id"])
    conn.execute(insert(sessions).values(created_at=now, updated_at=now, **values))


def get_session(conn: Connection, session_id: str) -> SessionRow:
    row = conn.execute(select(sessions).where(sessions.c.id == session_id)).one_or_none()
    if row is None:
        raise NotFound(f"no session {session_id!r}", details={"session_id": session_id})
    return _session_from_row(row)


def list_sessions(conn: Connection, *, status: str | None = None, limit: int = 50, offset: int = 0) -> list[SessionRow]:
    query = select(sessions).order_by(sessions.c.created_at.desc(), sessions.c.id).limit(limit).offset(offset)
    if status:
        query = query.where(sessions.c.status == status)
    return [_session_from_row(r) for r in conn.execute(query)]


def update_session(conn: Connection, session_id: str, **values: Any) -> None:
    conn.execute(update(sessions).where(sessions.c.id == session_id).values(updated_at=utcnow(), **values))


def advance_session(conn: Connection, session_id: str, expected_iteration: int, **values: Any) -> bool:
    """Commit the next iteration's session state only if nobody else did (one writer per session)."""
    return _update_if(conn, session_id, sessions.c.iteration == expected_iteration, values)


def _update_if(conn: Connection, session_id: str, condition: Any, values: dict[str, Any]) -> bool:
    """One conditional UPDATE of the session; whether it matched."""
    result = conn.execute(
        update(sessions).where(sessions.c.id == session_id, condition).values(updated_at=utcnow(), **values)
    )
    return result.rowcount == 1


def add_event(conn: Connection, session_id: str, event_type: str, data: dict[str, Any] | None = None) -> None:
    add_events(conn, session_id, [(event_type, data or {})])


def add_events(conn: Connection, session_id: str, items: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Record events in order, in one statement."""
    if not items:
        return
    now = utcnow()
    conn.execute(
        insert(events),
        [
            {
                "session_id": session_id,
                "issue_id": session_id,
                "event_type": event_type,
                "event_data": json.dumps(data, ensure_ascii=False),
                "created_at": now,
            }
            for event_type, data in items
        ],
    )


def list_events(conn: Connection, session_id: str, *, after_id: int = 0) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(events).where(events.c.session_id == session_id, events.c.id > after_id).order_by(events.c.id)
    )
    return [
        {"id": r.id, "type": r.event_type, "data": json.loads(r.event_data), "createdAt": r.created_at.isoformat()}
        for r in rows
    ]


def next_seq(conn: Connection, session_id: str) -> int:
    current = conn.execute(select(func.max(messages.c.seq)).where(messages.c.session_id == session_id)).scalar()
    return 0 if current is None else int(current) + 1


def append_message(conn: Connection, session_id: str, seq: int, message: dict[str, Any], iteration: int) -> None:
    append_messages(conn, session_id, seq, [message], iteration)


def append_messages(
    conn: Connection, session_id: str, first_seq: int, new: Sequence[dict[str, Any]], iteration: int
) -> None:
    """Store messages block by block, each block's JSON exactly as it will be sent back."""
    now = utcnow()
    rows = []
    for seq, message in enumerate(new, start=first_seq):
        content = message["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        rows += [
            {
                "session_id": session_id,
                "seq": seq,
                "role": message["role"],
                "block_index": i,
                "block_type": block.get("type", "text"),
                "block": json.dumps(block, ensure_ascii=False),
                "iteration": iteration,
                "created_at": now,
            }
            for i, block in enumerate(blocks)
        ]
    conn.execute(insert(messages), rows)


def load_messages(conn: Connection, session_id: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(messages.c.seq, messages.c.role, messages.c.block)
        .where(messages.c.session_id == session_id)
        .order_by(messages.c.seq, messages.c.block_index)
    )
    result: list[dict[str, Any]] = []
    last_seq = None
    for seq, role, block in rows:
        if seq != last_seq:
            result.append({"role": role, "content": []})
            last_seq = seq
        result[-1]["content"].append(json.loads(block))
    return result


def insert_iteration(conn: Connection, **values: Any) -> None:
    conn.execute(insert(iterations).values(created_at=utcnow(), **values))


def list_iterations(conn: Connection, session_id: str) -> Sequence[Any]:
    return conn.execute(
        select(iterations).where(iterations.c.session_id == session_id).order_by(iterations.c.iteration)
    ).all()


# ---- tenants, paging, convoys, the event feed (the API) --------------------------------------

DEFAULT_TENANT = "default"


def get_session_in(conn: Connection, session_id: str, tenant: str | None) -> SessionRow:
    """The session, or ``NotFound`` when it does not exist *or belongs to another tenant*
    (``tenant=None``: any tenant). Both look the same from outside, so ids cannot be probed."""
    query = select(sessions).where(sessions.c.id == session_id)
    if tenant is not None:
        query = query.where(sessions.c.tenant == tenant)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"no session {session_id!r}", details={"session_id": session_id})
    return _session_from_row(row)


@dataclass(frozen=True)
class SessionPage:
    rows: list[tuple[SessionRow, int]]  # each session with its pool's committed micros (consumed + reserved)
    total: int


def list_sessions_page(
    conn: Connection,
    *,
    tenant: str | None,
    status: str | None = None,
    type: str | None = None,
    convoy_id: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> SessionPage:
    conditions = []
    if tenant is not None:
        conditions.append(sessions.c.tenant == tenant)
    if status:
        conditions.append(sessions.c.status == status)
    if type:
        conditions.append(sessions.c.type == type)
    if convoy_id:
        conditions.append(sessions.c.convoy_id == convoy_id)
    committed = (budget_pools.c.consumed_micros + budget_pools.c.reserved_micros).label("committed_micros")
    query = (
        select(sessions, committed)
        .join(budget_pools, budget_pools.c.id == sessions.c.pool_id)
        .where(*conditions)
        .order_by(sessions.c.created_at.desc(), sessions.c.id)
        .limit(limit)
        .offset(offset)
    )
    rows = [(_session_from_row(r), int(r.committed_micros)) for r in conn.execute(query)]
    total = conn.execute(select(func.count()).select_from(sessions).where(*conditions)).scalar_one()
    return SessionPage(rows, int(total))


def insert_convoy(conn: Connection, **values: Any) -> None:
    conn.execute(insert(convoys).values(created_at=utcnow(), **values))


def get_convoy(conn: Connection, convoy_id: str, tenant: str | None) -> Any:
    query = select(convoys).where(convoys.c.id == convoy_id)
    if tenant is not None:
        query = query.where(convoys.c.tenant == tenant)
    row = conn.execute(query).one_or_none()
    if row is None:
        raise NotFound(f"no convoy {convoy_id!r}", details={"convoy_id": convoy_id})
    return row


def convoy_tasks(conn: Connection, convoy_id: str) -> list[tuple[SessionRow, int]]:
    """The convoy's sessions in submission order, each with its own pool's committed micros."""
    committed = (budget_pools.c.consumed_micros + budget_pools.c.reserved_micros).label("committed_micros")
    query = (
        select(sessions, committed)
        .join(budget_pools, budget_pools.c.id == sessions.c.pool_id)
        .where(sessions.c.convoy_id == convoy_id)
        .order_by(sessions.c.created_at, sessions.c.id)
    )
    return [(_session_from_row(r), int(r.committed_micros)) for r in conn.execute(query)]


def finish_convoy(conn: Connection, convoy_id: str, status: str) -> None:
    """Record the end of a convoy once (all its tasks ended); later calls change nothing."""
    conn.execute(
        update(convoys)
        .where(convoys.c.id == convoy_id, convoys.c.finished_at.is_(None))
        .values(status=status, finished_at=utcnow())
    )


@dataclass(frozen=True)
class EventRow:
    id: int
    session_id: str
    type: str
    data: dict[str, Any]
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "data": self.data, "createdAt": self.created_at.isoformat()}


def events_since(
    conn: Connection,
    after_id: int,
    *,
    session_id: str | None = None,
    event_types: Sequence[str] | None = None,
    limit: int = 1000,
) -> list[EventRow]:
    """Events with an id above ``after_id``, oldest first (every session's, or one session's)."""
    query = select(events).where(events.c.id > after_id).order_by(events.c.id).limit(limit)
    if session_id is not None:
        query = query.where(events.c.session_id == session_id)
    if event_types is not None:
        query = query.where(events.c.event_type.in_(event_types))
    return [
        EventRow(r.id, r.session_id, r.event_type, json.loads(r.event_data), r.created_at) for r in conn.execute(query)
    ]


def max_event_id(conn: Connection) -> int:
    return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)


def latest_events(conn: Connection, session_id: str, event_types: Sequence[str]) -> dict[str, EventRow]:
    """The newest event of each of ``event_types`` for one session."""
    newest = (
        select(func.max(events.c.id))
        .where(events.c.session_id == session_id, events.c.event_type.in_(event_types))
        .group_by(events.c.event_type)
    )
    rows = conn.execute(select(events).where(events.c.id.in_(newest)))
    return {
        r.event_type: EventRow(r.id, r.session_id, r.event_type, json.loads(r.event_data), r.created_at) for r in rows
    }


# ---- monitoring: the seed's three queries ------------------------------------------------------
# On SQLite they run as the seed wrote them; on PostgreSQL as the equivalent SQL. A tenant adds
# one predicate; no tenant (an admin, or auth off) runs them as written.

_SEED_SQL = {
    ("sqlite", "daily_spend"): """
SELECT
  DATE(created_at) as date,
  SUM(cost) as total_cost,
  COUNT(DISTINCT session_id) as sessions
FROM agentic_iterations
WHERE created_at >= datetime('now', '-7 days'){tenant}
GROUP BY DATE(created_at)""",
    ("postgresql", "daily_spend"): """
SELECT
  CAST(created_at AS DATE) as date,
  SUM(cost) as total_cost,
  COUNT(DISTINCT session_id) as sessions
FROM agentic_iterations
WHERE created_at >= (now() AT TIME ZONE 'UTC') - interval '7 days'{tenant}
GROUP BY CAST(created_at AS DATE)
ORDER BY 1""",
    ("sqlite", "exhaustion_rate"): """
SELECT
  COUNT(*) as total,
  SUM(CASE WHEN status = 'budget_exhausted' THEN 1 ELSE 0 END) as exhausted,
  ROUND(AVG(cost_consumed / budget) * 100, 1) as avg_utilization
FROM agentic_sessions
WHERE started_at >= datetime('now', '-30 days'){tenant}""",
    ("postgresql", "exhaustion_rate"): """
SELECT
  COUNT(*) as total,
  SUM(CASE WHEN status = 'budget_exhausted' THEN 1 ELSE 0 END) as exhausted,
  ROUND(CAST(AVG(cost_consumed / budget) * 100 AS NUMERIC), 1) as avg_utilization
FROM agentic_sessions
WHERE started_at >= (now() AT TIME ZONE 'UTC') - interval '30 days'{tenant}""",
    ("any", "top_expensive"): """
SELECT
  issue_id,
  cost_consumed,
  iteration,
  status
FROM agentic_sessions{where}
ORDER BY cost_consumed DESC
LIMIT 10""",
}


def _seed_query(conn: Connection, name: str, tenant: str | None) -> list[dict[str, Any]]:
    dialect = "postgresql" if conn.dialect.name == "postgresql" else "sqlite"
    sql = _SEED_SQL.get((dialect, name)) or _SEED_SQL[("any", name)]
    if name == "daily_spend":
        clause = "\n  AND session_id IN (SELECT id FROM agentic_sessions WHERE tenant = :tenant)"
    else:
        clause = "\n  AND tenant = :tenant"
    sql = sql.format(
        tenant=clause if tenant is not None else "",
        where="\nWHERE tenant = :tenant" if tenant is not None else "",
    )
    params = {"tenant": tenant} if tenant is not None else {}
    return [dict(r._mapping) for r in conn.execute(text(sql), params)]


def daily_spend(conn: Connection, tenant: str | None = None) -> list[dict[str, Any]]:
    return [
        {"date": str(r["date"]), "total_cost": float(r["total_cost"] or 0), "sessions": int(r["sessions"])}
        for r in _seed_query(conn, "daily_spend", tenant)
    ]


def exhaustion_rate(conn: Connection, tenant: str | None = None) -> dict[str, Any]:
    (r,) = _seed_query(conn, "exhaustion_rate", tenant)
    avg = r["avg_utilization"]
    return {
        "total": int(r["total"] or 0),
        "exhausted": int(r["exhausted"] or 0),
        "avg_utilization": None if avg is None else float(avg),
    }


def top_expensive(conn: Connection, tenant: str | None = None) -> list[dict[str, Any]]:
    return [
        {
            "issue_id": r["issue_id"],
            "cost_consumed": float(r["cost_consumed"] or 0),
            "iteration": int(r["iteration"]),
            "status": r["status"],
        }
        for r in _seed_query(conn, "top_expensive", tenant)
    ]


@dataclass(frozen=True)
class Totals:
    """Service-wide counters for ``/metrics``."""

    sessions_by_status: dict[str, int]
    allocated_micros: int
    consumed_micros: int
    iterations: int
    tokens: dict[str, int]
    completion_outcomes: dict[str, int]


def totals(conn: Connection) -> Totals:
    by_status = {
        str(status): int(n)
        for status, n in conn.execute(select(sessions.c.status, func.count()).group_by(sessions.c.status))
    }
    allocated, consumed = conn.execute(
        select(
            func.coalesce(func.sum(sessions.c.budget_micros), 0), func.coalesce(func.sum(sessions.c.consumed_micros), 0)
        )
    ).one()
    row = conn.execute(
        select(
            func.count(),
            func.coalesce(func.sum(iterations.c.input_tokens), 0),
            func.coalesce(func.sum(iterations.c.output_tokens), 0),
            func.coalesce(func.sum(iterations.c.cache_read_tokens), 0),
            func.coalesce(func.sum(iterations.c.cache_write_tokens), 0),
        )
    ).one()
    outcomes = {
        str(kind): int(n)
        for kind, n in conn.execute(
            select(events.c.event_type, func.count())
            .where(events.c.event_type.in_(("completion_approved", "completion_rejected")))
            .group_by(events.c.event_type)
        )
    }
    return Totals(
        sessions_by_status=by_status,
        allocated_micros=int(allocated),
        consumed_micros=int(consumed),
        iterations=int(row[0]),
        tokens={"input": int(row[1]), "output": int(row[2]), "cache_read": int(row[3]), "cache_write": int(row[4])},
        completion_outcomes={
            "approved": outcomes.get("completion_approved", 0),
            "rejected": outcomes.get("completion_rejected", 0),
        },
    )


# ---- API tokens ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenRow:
    id: str
    name: str
    tenant: str
    scope: str
    created_at: datetime
    revoked_at: datetime | None


def insert_token(conn: Connection, *, id: str, name: str, tenant: str, scope: str, token_hash: str) -> None:
    conn.execute(
        insert(api_tokens).values(
            id=id, name=name, tenant=tenant, scope=scope, token_hash=token_hash, created_at=utcnow()
        )
    )


def token_by_hash(conn: Connection, token_hash: str) -> TokenRow | None:
    row = conn.execute(
        select(api_tokens).where(api_tokens.c.token_hash == token_hash, api_tokens.c.revoked_at.is_(None))
    ).one_or_none()
    return None if row is None else _token_from_row(row)


def list_tokens(conn: Connection) -> list[TokenRow]:
    return [_token_from_row(r) for r in conn.execute(select(api_tokens).order_by(api_tokens.c.created_at))]


def active_token_count(conn: Connection) -> int:
    return int(
        conn.execute(select(func.count()).select_from(api_tokens).where(api_tokens.c.revoked_at.is_(None))).scalar_one()
    )


def revoke_token(conn: Connection, name_or_id: str) -> int:
    """Revoke the live tokens with this id or name; how many were revoked."""
    done = conn.execute(
        update(api_tokens)
        .where((api_tokens.c.id == name_or_id) | (api_tokens.c.name == name_or_id), api_tokens.c.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(done.rowcount)


def _token_from_row(row: Any) -> TokenRow:
    return TokenRow(row.id, row.name, row.tenant, row.scope, row.created_at, row.revoked_at)


def transition(conn: Connection, session_id: str, from_status: str, **values: Any) -> bool:
    """Change the session only if it is still in ``from_status`` (one conditional UPDATE)."""
    return _update_if(conn, session_id, sessions.c.status == from_status, values)


def latest_checkpoint_bundle(conn: Connection, session_id: str) -> bytes | None:
    bundle = conn.execute(
        select(checkpoints.c.bundle)
        .where(checkpoints.c.session_id == session_id)
        .order_by(checkpoints.c.iteration.desc())
        .limit(1)
    ).scalar()
    return None if bundle is None else bytes(bundle)


# Prebuilt statements for the hottest read (the status of one session): built once, so a read
# pays neither statement construction nor cache-key generation.
_POOL_COLUMNS = (
    budget_pools.c.allocated_micros.label("pool_allocated"),
    (budget_pools.c.consumed_micros + budget_pools.c.reserved_micros).label("pool_committed"),
)
_STATUS_SESSION = (
    select(sessions, *_POOL_COLUMNS)
    .join(budget_pools, budget_pools.c.id == sessions.c.pool_id)
    .where(sessions.c.id == bindparam("session_id"))
)
_STATUS_SESSION_IN_TENANT = _STATUS_SESSION.where(sessions.c.tenant == bindparam("tenant"))
_STATUS_ITERATIONS = (
    select(iterations).where(iterations.c.session_id == bindparam("session_id")).order_by(iterations.c.iteration)
)
_STATUS_EVENTS = select(events).where(events.c.session_id == bindparam("session_id")).order_by(events.c.id)


@dataclass(frozen=True)
class StatusRows:
    session: SessionRow
    allocated_micros: int
    committed_micros: int  # consumed + reserved of the session's own pool
    iterations: Sequence[Any]
    events: list[dict[str, Any]]


def status_rows(conn: Connection, session_id: str, tenant: str | None) -> StatusRows:
    """Everything a session's status shows, in three indexed reads; ``NotFound`` as ``get_session_in``."""
    params = {"session_id": session_id, "tenant": tenant}
    row = conn.execute(_STATUS_SESSION if tenant is None else _STATUS_SESSION_IN_TENANT, params).one_or_none()
    if row is None:
        raise NotFound(f"no session {session_id!r}", details={"session_id": session_id})
    return StatusRows(
        _session_from_row(row),
        int(row.pool_allocated),
        int(row.pool_committed),
        conn.execute(_STATUS_ITERATIONS, params).all(),
        [
            {"id": r.id, "type": r.event_type, "data": json.loads(r.event_data), "createdAt": r.created_at.isoformat()}
            for r in conn.execute(_STATUS_EVENTS, params)
        ],
    )
