"""The review queue: sessions in ``awaiting_review``; approve (and export), or reject with feedback.

- approve: ``awaiting_review → approved`` in one conditional UPDATE; the workspace is committed
  and stored as a checkpoint bundle in the database, so the export (a ``git bundle`` or a
  ``.tar.gz``) works from any API server, not only the machine that ran the agent.
- reject: the feedback (sanitized like any prompt) goes back to the agent as a new user turn and
  the session is queued again, budget permitting (402 otherwise, and it stays awaiting review).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from agentic_executor.api.auth import Reviewer
from agentic_executor.api.deps import base_url, get_app
from agentic_executor.api.errors import documented
from agentic_executor.api.schemas import Approval, RejectRequest, ReviewQueue, SessionStatus
from agentic_executor.api.sessions import SessionId, check_visible
from agentic_executor.app import App
from agentic_executor.engine import checkpoints
from agentic_executor.engine.workspace import git
from agentic_executor.errors import BudgetExhausted, Conflict
from agentic_executor.hooks.sanitize import neutralize
from agentic_executor.runtime import control
from agentic_executor.store import queries
from agentic_executor.views import review_item, session_status

log = logging.getLogger(__name__)
router = APIRouter(tags=["review"], responses=documented(401, 403, 404, 413, 422, 503))

FEEDBACK = "A reviewer rejected your work. Their feedback:\n\n{feedback}\n\nAddress it, then call complete_task again."


def approve(app: App, session_id: str) -> None:
    with app.db.transaction() as conn:
        session = queries.get_session(conn, session_id)
        if not queries.transition(conn, session_id, "awaiting_review", status="approved"):
            raise Conflict(
                f"session {session_id} is {session.status}: only a session awaiting review can be approved",
                details={"status": session.status},
            )
        queries.add_event(conn, session_id, "review_approved", {})
        queries.add_event(conn, session_id, "status_changed", {"status": "approved"})
    workspace = FsPath(session.workspace) if session.workspace else None
    if workspace is not None and (workspace / ".git").is_dir():  # else the worker's last checkpoint is the export
        try:
            snap = checkpoints.snapshot(workspace, session.iteration)
        except RuntimeError:  # a broken repository: the export falls back to the last checkpoint
            log.exception("could not snapshot the approved workspace of %s", session_id)
            return
        with app.db.transaction() as conn:
            checkpoints.record(conn, session_id, session.iteration, queries.next_seq(conn, session_id), snap)


def reject(app: App, session_id: str, feedback: str) -> None:
    """Queue the session again with the feedback as a new turn; ``BudgetExhausted`` if nothing is left."""
    text, findings = neutralize(feedback)
    with app.db.transaction() as conn:
        session = queries.get_session(conn, session_id)
        # resume() takes paused sessions: pass through paused, in one conditional step
        if not queries.transition(conn, session_id, "awaiting_review", status="paused"):
            raise Conflict(
                f"session {session_id} is {session.status}: only a session awaiting review can be rejected",
                details={"status": session.status},
            )
        queries.add_event(conn, session_id, "review_rejected", {"feedback": text})
        if findings:
            queries.add_event(
                conn,
                session_id,
                "prompt_injection_detected",
                {"source": "review", "removed": [{"kind": f.kind, "text": f.text} for f in findings]},
            )
    try:
        control.resume(app, session_id, feedback=FEEDBACK.format(feedback=text))
    except BudgetExhausted:
        with app.db.transaction() as conn:
            queries.transition(conn, session_id, "paused", status="awaiting_review")
            queries.add_event(conn, session_id, "review_rejection_not_queued", {"reason": "budget exhausted"})
        raise


def export(app: App, session_id: str, kind: str) -> bytes:
    with app.db.read() as conn:
        session = queries.get_session(conn, session_id)
        bundle = queries.latest_checkpoint_bundle(conn, session_id)
    if session.status != "approved":
        raise Conflict(f"session {session_id} is {session.status}: approve it before exporting it")
    if bundle is None:
        raise Conflict(f"session {session_id} has no stored workspace to export")
    if kind == "bundle":
        return bundle
    with tempfile.TemporaryDirectory() as tmp:
        root = FsPath(tmp)
        (root / "w.bundle").write_bytes(bundle)
        git(root, "init", "-q", "--bare", "repo.git")
        git(root / "repo.git", "fetch", "-q", str(root / "w.bundle"), "main:main")
        git(
            root / "repo.git",
            "archive",
            "--format=tar.gz",
            f"--prefix={session_id}/",
            "-o",
            str(root / "w.tgz"),
            "main",
        )
        return (root / "w.tgz").read_bytes()


@router.get("/api/agentic/review", response_model=ReviewQueue)
def review_queue(
    request: Request,
    principal: Reviewer,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict[str, Any]:
    """Sessions awaiting review, newest first: cost, gate results, the agent's summary, the preview."""
    app = get_app(request)
    with app.db.read() as conn:
        page = queries.list_sessions_page(
            conn, tenant=principal.tenant, status="awaiting_review", limit=limit, offset=offset
        )
    url = base_url(request)
    return {"sessions": [review_item(app, s, committed, url) for s, committed in page.rows], "total": page.total}


@router.post("/api/agentic/sessions/{session_id}/approve", response_model=Approval, responses=documented(409))
def approve_session(request: Request, session_id: SessionId, principal: Reviewer) -> dict[str, Any]:
    """Approve the work (``awaiting_review → approved``); the response links the exports."""
    app = get_app(request)
    check_visible(app, session_id, principal)
    approve(app, session_id)
    export_url = f"{base_url(request)}/api/agentic/sessions/{session_id}/export"
    return {
        "session": session_status(app, session_id, tenant=principal.tenant, base_url=base_url(request)),
        "export": {"bundle": f"{export_url}?format=bundle", "archive": f"{export_url}?format=tar.gz"},
    }


@router.post("/api/agentic/sessions/{session_id}/reject", response_model=SessionStatus, responses=documented(402, 409))
def reject_session(request: Request, session_id: SessionId, body: RejectRequest, principal: Reviewer) -> dict[str, Any]:
    """Send the work back: the feedback becomes the agent's next turn and the session is queued
    again (402 when its budget is spent: add budget, then reject again)."""
    app = get_app(request)
    check_visible(app, session_id, principal)
    reject(app, session_id, body.feedback)
    return session_status(app, session_id, tenant=principal.tenant, base_url=base_url(request))


@router.get(
    "/api/agentic/sessions/{session_id}/export",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}, "application/gzip": {}}, "description": "The workspace."},
        **documented(409),
    },
)
def export_session(
    request: Request,
    session_id: SessionId,
    principal: Reviewer,
    format: Annotated[
        Literal["bundle", "tar.gz"], Query(description="A git bundle, or a .tar.gz of the files.")
    ] = "bundle",
) -> Response:
    """The approved workspace: ``git clone`` the bundle, or unpack the archive."""
    app = get_app(request)
    check_visible(app, session_id, principal)
    data = export(app, session_id, format)
    suffix, media_type = (
        ("bundle", "application/octet-stream") if format == "bundle" else ("tar.gz", "application/gzip")
    )
    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{session_id}.{suffix}"'},
    )
