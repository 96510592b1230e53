"""Sessions: list with filters and paging, status in the seed's shape, and control
(pause, resume, cancel, add budget). Another tenant's session is a 404, like a missing one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request

from agentic_executor.api.auth import Principal, Reader, Submitter
from agentic_executor.api.deps import base_url, get_app, quick_read
from agentic_executor.api.errors import documented
from agentic_executor.api.schemas import (
    ID_PATTERN,
    TYPE_PATTERN,
    BudgetRequest,
    ResumeRequest,
    SessionList,
    SessionStatus,
    Status,
)
from agentic_executor.app import App
from agentic_executor.runtime import control
from agentic_executor.store import queries
from agentic_executor.views import session_status, session_summary

router = APIRouter(tags=["sessions"], responses=documented(401, 403, 404, 413, 422, 503))
SessionId = Annotated[str, Path(pattern=ID_PATTERN, description="A session id (agt_…).")]


def status_of(request: Request, session_id: str, principal: Principal) -> dict[str, Any]:
    report = session_status(get_app(request), session_id, tenant=principal.tenant, base_url=base_url(request))
    return report


def check_visible(app: App, session_id: str, principal: Principal) -> None:
    with app.db.read() as conn:
        queries.get_session_in(conn, session_id, principal.tenant)


@router.get("/api/agentic/sessions", response_model=SessionList)
def list_sessions(
    request: Request,
    principal: Reader,
    status: Status | None = None,
    type: Annotated[str | None, Query(pattern=TYPE_PATTERN)] = None,
    convoyId: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> dict[str, Any]:
    """Sessions, newest first; filter by status, type or convoy; page with limit and offset."""
    app = get_app(request)
    with app.db.read() as conn:
        page = queries.list_sessions_page(
            conn, tenant=principal.tenant, status=status, type=type, convoy_id=convoyId, limit=limit, offset=offset
        )
    url = base_url(request)
    return {
        "sessions": [session_summary(s, committed, url) for s, committed in page.rows],
        "total": page.total,
        "limit": limit,
        "offset": offset,
        "nextOffset": offset + limit if offset + limit < page.total else None,
    }


@router.get("/api/agentic/sessions/{session_id}", response_model=SessionStatus)
async def get_session(request: Request, session_id: SessionId, principal: Reader) -> dict[str, Any]:
    """The seed's status: session, budget (consumed includes calls in flight), preview, iterations, events."""
    return await quick_read(get_app(request), lambda: status_of(request, session_id, principal))


@router.get("/tasks/{session_id}", response_model=SessionStatus, summary="Get Task (the seed's statusUrl)")
async def get_task(request: Request, session_id: SessionId, principal: Reader) -> dict[str, Any]:
    """The ``statusUrl`` that submit returns: the same as ``/api/agentic/sessions/{id}``. A browser
    (``Accept: text/html`` first) is sent to the dashboard's page for the session instead (303)."""
    return await quick_read(get_app(request), lambda: status_of(request, session_id, principal))


@router.post("/api/agentic/sessions/{session_id}/pause", response_model=SessionStatus, responses=documented(409))
def pause(request: Request, session_id: SessionId, principal: Submitter) -> dict[str, Any]:
    """Pause at the next iteration boundary (the model call in flight is kept)."""
    app = get_app(request)
    check_visible(app, session_id, principal)
    control.pause(app, session_id)
    return status_of(request, session_id, principal)


@router.post("/api/agentic/sessions/{session_id}/resume", response_model=SessionStatus, responses=documented(402, 409))
def resume(
    request: Request,
    session_id: SessionId,
    principal: Submitter,
    body: Annotated[ResumeRequest | None, Body()] = None,
) -> dict[str, Any]:
    """Queue a paused or stopped session again (402 when its budget is spent: add budget first)."""
    app = get_app(request)
    check_visible(app, session_id, principal)
    control.resume(app, session_id, feedback=body.feedback if body else None)
    return status_of(request, session_id, principal)


@router.post("/api/agentic/sessions/{session_id}/cancel", response_model=SessionStatus, responses=documented(409))
def cancel(request: Request, session_id: SessionId, principal: Submitter) -> dict[str, Any]:
    """Cancel at the next iteration boundary (at once when paused)."""
    app = get_app(request)
    check_visible(app, session_id, principal)
    control.cancel(app, session_id)
    return status_of(request, session_id, principal)


@router.post("/api/agentic/sessions/{session_id}/budget", response_model=SessionStatus)
def add_budget(request: Request, session_id: SessionId, body: BudgetRequest, principal: Submitter) -> dict[str, Any]:
    """Add dollars to the session's own budget (a session stopped as budget_exhausted then needs a resume)."""
    app = get_app(request)
    check_visible(app, session_id, principal)
    control.add_budget(app, session_id, body.add)
    return status_of(request, session_id, principal)
