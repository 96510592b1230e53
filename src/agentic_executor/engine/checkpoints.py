"""Checkpoints: the workspace as a git commit, stored in the database with its conversation offset.

Every N iterations the workspace is committed and a ``git bundle`` of it is stored, so another
machine can restore it. Recovery after a crash puts the workspace back to the last checkpoint and
re-applies the tool calls of the iterations committed since (their results are already in the
conversation; only their effects on files are redone), so the workspace matches the last
committed iteration exactly: no model call is repeated, nothing paid for is thrown away.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from agentic_executor.engine.tools import execute_tool
from agentic_executor.engine.workspace import git, reopen_workspace
from agentic_executor.sandbox.runner import Limits
from agentic_executor.store.queries import utcnow
from agentic_executor.store.tables import checkpoints, messages


@dataclass(frozen=True)
class Snapshot:
    sha: str
    bundle: bytes


def snapshot(workspace: Path, iteration: int) -> Snapshot:
    """Commit everything in the workspace and bundle its history (filesystem only, no database)."""
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "--allow-empty", "--no-verify", "-m", f"checkpoint: iteration {iteration}")
    sha = git(workspace, "rev-parse", "HEAD").stdout.strip()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "workspace.bundle"
        git(workspace, "bundle", "create", "-q", str(path), "main")
        return Snapshot(sha, path.read_bytes())


def record(conn: Connection, session_id: str, iteration: int, message_count: int, snap: Snapshot) -> None:
    conn.execute(
        delete(checkpoints).where(checkpoints.c.session_id == session_id, checkpoints.c.iteration == iteration)
    )
    conn.execute(
        insert(checkpoints).values(
            session_id=session_id,
            iteration=iteration,
            message_count=message_count,
            commit_sha=snap.sha,
            bundle=snap.bundle,
            created_at=utcnow(),
        )
    )


def restore(conn: Connection, session_id: str, workspace: Path, limits: Limits) -> dict[str, Any]:
    """Bring ``workspace`` to the state of the session's last committed iteration.

    Works from any state a crash can leave: no workspace at all (another machine), a repository
    killed half-way through its creation, files half-written by a tool call that never committed.
    """
    last = conn.execute(
        select(checkpoints)
        .where(checkpoints.c.session_id == session_id)
        .order_by(checkpoints.c.iteration.desc())
        .limit(1)
    ).one_or_none()
    locks = reopen_workspace(workspace.parent, workspace.name)  # a crash may have left it half-made
    base_iteration = 0
    if last is not None:
        base_iteration = last.iteration
        if git(workspace, "cat-file", "-e", f"{last.commit_sha}^{{commit}}", check=False).returncode != 0:
            _fetch_bundle(workspace, last.bundle)
        _reset(workspace, last.commit_sha)
    else:
        first = git(workspace, "rev-list", "--max-parents=0", "HEAD").stdout.split()[0]
        _reset(workspace, first)
    replayed = 0
    for block in _tool_calls_after(conn, session_id, base_iteration):
        if block.get("name") != "complete_task":
            execute_tool(workspace, block["name"], block.get("input") or {}, limits=limits)
            replayed += 1
    result: dict[str, Any] = {"checkpoint_iteration": base_iteration, "tool_calls_replayed": replayed}
    if locks:
        result["stale_locks_removed"] = locks
    return result


def _fetch_bundle(workspace: Path, bundle: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "workspace.bundle"
        path.write_bytes(bundle)
        git(workspace, "fetch", "-q", str(path), "main")


def _reset(workspace: Path, sha: str) -> None:
    git(workspace, "reset", "-q", "--hard", sha)
    git(workspace, "clean", "-q", "-f", "-d", "-x")


def _tool_calls_after(conn: Connection, session_id: str, iteration: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        select(messages.c.block)
        .where(
            messages.c.session_id == session_id,
            messages.c.iteration > iteration,
            messages.c.role == "assistant",
            messages.c.block_type == "tool_use",
        )
        .order_by(messages.c.seq, messages.c.block_index)
    )
    return [json.loads(r.block) for r in rows]
