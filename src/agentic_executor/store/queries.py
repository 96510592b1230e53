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

from sqlalchemy import Connection, func, insert, select, update

from agentic_executor.errors import NotFound
from agentic_executor.store.tables import events, iterations, messages, sessions

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
    result = conn.execute(
        update(sessions)
        .where(sessions.c.id == session_id, sessions.c.iteration == expected_iteration)
        .values(updated_at=utcnow(), **values)
    )
    return result.rowcount == 1


def add_event(conn: Connection, session_id: str, event_type: str, data: dict[str, Any] | None = None) -> None:
    conn.execute(
        insert(events).values(
            session_id=session_id,
            issue_id=session_id,
            event_type=event_type,
            event_data=json.dumps(data or {}, ensure_ascii=False),
            created_at=utcnow(),
        )
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
    """Store one message block by block, each block's JSON exactly as it will be sent back."""
    content = message["content"]
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
    now = utcnow()
    conn.execute(
        insert(messages),
        [
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
        ],
    )


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
