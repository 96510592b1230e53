"""The dashboard's pages, rendered on the server with Jinja2; ``static/dashboard.js`` adds the rest.

Pages read the database directly, through the same views as the API (``views.py``); every action
(submit, pause, approve, …) is a ``fetch`` to the JSON API from the page, so the API's checks and
errors are the only ones. Auth is the API's: off on loopback without tokens; otherwise the token
typed into ``/ui/login`` is kept in an HttpOnly, SameSite=Strict cookie that the API accepts too
(so previews in frames and the event stream work without putting the token in URLs).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.types import ASGIApp, Receive, Scope, Send

from agentic_executor.api.auth import ANONYMOUS, COOKIE, Principal, check_browser_origin, check_loopback_host
from agentic_executor.api.deps import get_app
from agentic_executor.api.errors import ApiError
from agentic_executor.api.schemas import ID_PATTERN
from agentic_executor.dashboard import charts
from agentic_executor.dashboard.events import describe
from agentic_executor.errors import NotFound
from agentic_executor.gates.config import gates_file_for, load_gates_config
from agentic_executor.store import queries
from agentic_executor.views import convoy_status, review_item, session_summary, status_view

PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-src 'self'; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
STATIC = ("dashboard.css", "dashboard.js")
STATUSES = ("queued", "running", "paused", "awaiting_review", "approved", "budget_exhausted", "failed", "cancelled")
REVIEW_PAGE = 50
LIST_PAGE = 50
TIMELINE_SHOWN = 300
MESSAGES_SHOWN = 80
"""A long session's page shows its newest events and messages; the API has them all."""

router = APIRouter(include_in_schema=False)
SessionId = Annotated[str, Path(pattern=ID_PATTERN)]


_ASSETS = {name: resources.files("agentic_executor.dashboard").joinpath("static", name).read_bytes() for name in STATIC}
"""Read once: their URLs carry a digest of these bytes (``asset``), so they are served as immutable."""
_VERSIONS = {name: hashlib.sha256(data).hexdigest()[:12] for name, data in _ASSETS.items()}

env = Environment(
    loader=PackageLoader("agentic_executor.dashboard", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=StrictUndefined,
)
env.filters["dollars"] = charts.dollars
env.filters["words"] = lambda s: str(s or "").replace("_", " ")
env.globals["asset"] = lambda name: f"/ui/static/{name}?v={_VERSIONS[name]}"
env.globals["STATUSES"] = STATUSES


def render(request: Request, template: str, principal: Principal, status_code: int = 200, **context: Any) -> Response:
    page = env.get_template(template).render(
        request=request,
        path=request.url.path,
        principal=principal,
        auth_on=principal is not ANONYMOUS,
        **context,
    )
    return HTMLResponse(page, status_code=status_code, headers=PAGE_HEADERS)


class LoginNeeded(Exception):
    """No valid token in the cookie: the page sends the browser to ``/ui/login``."""


def viewer(request: Request) -> Principal:
    """Who is looking: anonymous while auth is off, else the cookie's token (``LoginNeeded``)."""
    auth = request.app.state.auth
    token = request.cookies.get(COOKIE)
    if not auth.required():
        check_loopback_host(request)
        return ANONYMOUS
    if not token:
        raise LoginNeeded
    try:
        principal: Principal = auth.principal(token)
    except ApiError:
        raise LoginNeeded from None
    return principal


def page(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Routes a missing login to ``/ui/login`` and a missing session or convoy to a 404 page."""

    @functools.wraps(handler)
    def wrapped(request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return handler(request, *args, **kwargs)
        except LoginNeeded:
            target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""), safe="")
            if not request.cookies.get(COOKIE):
                return RedirectResponse(f"/ui/login?next={target}", status_code=303)
            response = RedirectResponse(f"/ui/login?next={target}&expired=1", status_code=303)
            response.delete_cookie(COOKIE, path="/")
            return response
        except NotFound as missing:
            return render(request, "missing.html", viewer(request), status_code=404, message=str(missing))

    return wrapped


def label(s: queries.SessionRow) -> str:
    """A session's name for people: its title, else the start of its prompt."""
    if s.title:
        return s.title
    first = s.prompt.strip().splitlines()[0] if s.prompt.strip() else s.id
    return first if len(first) <= 80 else first[:79].rstrip() + "…"


# ---- pages ---------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
@page
def review_page(request: Request) -> Response:
    principal = viewer(request)
    app = get_app(request)
    can_review = "review" in principal.scopes
    items: list[dict[str, Any]] = []
    total = 0
    if can_review:
        with app.db.read() as conn:
            result = queries.list_sessions_page(
                conn, tenant=principal.tenant, status="awaiting_review", limit=REVIEW_PAGE, offset=0
            )
        items = [
            {**review_item(app, s, committed), "label": label(s), "prompt": s.prompt} for s, committed in result.rows
        ]
        total = result.total
    return render(request, "review.html", principal, items=items, total=total, can_review=can_review)


@router.get("/ui/sessions", response_class=HTMLResponse)
@page
def sessions_page(
    request: Request,
    status: Annotated[str | None, Query(max_length=40)] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> Response:
    principal = viewer(request)
    app = get_app(request)
    chosen = status if status in STATUSES else None
    with app.db.read() as conn:
        result = queries.list_sessions_page(
            conn, tenant=principal.tenant, status=chosen, limit=LIST_PAGE, offset=offset
        )
    rows = [{**session_summary(s, committed), "label": label(s)} for s, committed in result.rows]
    return render(
        request,
        "sessions.html",
        principal,
        rows=rows,
        total=result.total,
        status=chosen,
        offset=offset,
        next_offset=offset + LIST_PAGE if offset + LIST_PAGE < result.total else None,
        prev_offset=max(offset - LIST_PAGE, 0) if offset else None,
    )


@router.get("/ui/sessions/{session_id}", response_class=HTMLResponse)
@page
def session_page(request: Request, session_id: SessionId) -> Response:
    principal = viewer(request)
    app = get_app(request)
    with app.db.read() as conn:
        rows = queries.status_rows(conn, session_id, principal.tenant)
        conversation = queries.load_messages(conn, session_id)
    status, row = status_view(rows), rows.session
    s = {**status["session"], "label": label(row), "prompt": row.prompt, "criteria": row.acceptance_criteria}
    review = review_item(app, row, rows.committed_micros) if s["status"] == "awaiting_review" else None
    iterations = status["iterations"]
    chart = charts.spend_chart([i["cost"] for i in iterations], status["budget"]["allocated"])
    events = status["events"]
    timeline = [describe(e) for e in reversed(events[-TIMELINE_SHOWN:])]
    return render(
        request,
        "session.html",
        principal,
        s=s,
        budget=status["budget"],
        preview=status["preview"],
        iterations=iterations,
        chart=chart,
        timeline=timeline,
        events_total=len(events),
        last_event_id=status["events"][-1]["id"] if status["events"] else 0,
        conversation=_conversation(conversation[-MESSAGES_SHOWN:]),
        messages_total=len(conversation),
        review=review,
    )


@router.get("/ui/convoys/{convoy_id}", response_class=HTMLResponse)
@page
def convoy_page(request: Request, convoy_id: SessionId) -> Response:
    principal = viewer(request)
    convoy = convoy_status(get_app(request), convoy_id, tenant=principal.tenant)
    return render(request, "convoy.html", principal, convoy=convoy)


@router.get("/ui/submit", response_class=HTMLResponse)
@page
def submit_page(request: Request) -> Response:
    principal = viewer(request)
    app = get_app(request)
    config = load_gates_config(gates_file_for(app.settings))
    task_types = {name: list(t.get("gates", [])) for name, t in config.data.get("task_types", {}).items()}
    task_types.pop("default", None)
    return render(
        request,
        "submit.html",
        principal,
        task_types=task_types,
        default_model=app.settings.default_model,
        can_submit="submit" in principal.scopes,
    )


@router.get("/ui/spend", response_class=HTMLResponse)
@page
def spend_page(request: Request) -> Response:
    principal = viewer(request)
    with get_app(request).db.read() as conn:
        daily = queries.daily_spend(conn, principal.tenant)
        exhaustion = queries.exhaustion_rate(conn, principal.tenant)
        top = queries.top_expensive(conn, principal.tenant)
    by_date = {str(r["date"])[:10]: r for r in daily}
    today = queries.utcnow().date()
    days = [
        by_date.get(day, {"date": day, "total_cost": 0.0, "sessions": 0})
        for day in (str(today - timedelta(days=back)) for back in range(6, -1, -1))
    ]
    chart = charts.bar_chart([(str(r["date"])[5:10], float(r["total_cost"] or 0)) for r in days])
    total = exhaustion["total"] or 0
    rate = round(100 * (exhaustion["exhausted"] or 0) / total, 1) if total else 0.0
    utilization = exhaustion["avg_utilization"]
    return render(
        request,
        "spend.html",
        principal,
        spent=any(r["sessions"] for r in days),
        days=days,
        chart=chart,
        exhaustion=exhaustion,
        rate=rate,
        utilization=round(float(utilization), 1) if utilization is not None else None,
        top=top,
    )


# ---- login ---------------------------------------------------------------------------------


def _safe_next(target: str | None) -> str:
    """Only a path on this server: never ``//host`` or ``https://…`` (an open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/ui/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    next: Annotated[str | None, Query(max_length=2000)] = None,
    expired: Annotated[bool, Query()] = False,
) -> Response:
    target = _safe_next(next)
    if not request.app.state.auth.required():
        return RedirectResponse(target, status_code=303)
    error = "Your token is unknown or revoked: enter another one." if expired else None
    return render(request, "login.html", ANONYMOUS, next=target, error=error)


@router.post("/ui/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    check_browser_origin(request)
    try:
        form = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=4)
    except ValueError:  # more fields than the form has
        form = {}
    token = (form.get("token") or [""])[0].strip()
    target = _safe_next((form.get("next") or ["/"])[0])
    auth = request.app.state.auth
    if not auth.required():
        return RedirectResponse(target, status_code=303)
    try:
        if not token:
            raise ApiError(401, "unauthorized", "Enter a token: agx token create --name NAME --scope review")
        auth.principal(token)
    except ApiError as refused:
        return render(request, "login.html", ANONYMOUS, status_code=401, next=target, error=refused.message)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
        max_age=30 * 24 * 3600,
    )
    return response


@router.post("/ui/logout")
def logout(request: Request) -> Response:
    check_browser_origin(request)
    response = RedirectResponse("/ui/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


# ---- assets and the seed's statusUrl in a browser ------------------------------------------


@router.get("/ui/static/{name}")
def static(name: str) -> Response:
    if name not in STATIC:
        raise NotFound(f"no dashboard asset {name!r}")
    media = "text/css" if name.endswith(".css") else "text/javascript"
    return Response(
        _ASSETS[name],
        media_type=f"{media}; charset=utf-8",
        headers={"Cache-Control": "public, max-age=31536000, immutable", "X-Content-Type-Options": "nosniff"},
    )


class BrowserRedirect:
    """A browser opening a seed ``statusUrl`` (``/tasks/ID``, ``/convoys/ID``, ``Accept: text/html``
    first) is sent to the dashboard's page for it; API clients still get the JSON."""

    PATHS = (("/tasks/", "/ui/sessions/"), ("/convoys/", "/ui/convoys/"))

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            accept = dict(scope.get("headers") or []).get(b"accept", b"").decode("latin-1")
            if accept.split(",", 1)[0].strip().startswith("text/html"):
                for prefix, page_prefix in self.PATHS:
                    rest = path[len(prefix) :]
                    if path.startswith(prefix) and rest and "/" not in rest:
                        await RedirectResponse(page_prefix + quote(rest), status_code=303)(scope, receive, send)
                        return
        await self.app(scope, receive, send)


# ---- conversation --------------------------------------------------------------------------


def _conversation(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages as the template shows them: text, thinking (collapsed), tool calls and results."""
    shown = []
    for message in history:
        blocks = []
        for block in message["content"]:
            kind = block.get("type")
            if kind == "text":
                blocks.append({"kind": "text", "text": block.get("text", "")})
            elif kind in ("thinking", "redacted_thinking"):
                blocks.append({"kind": "thinking", "text": block.get("thinking") or "(redacted by the provider)"})
            elif kind == "tool_use":
                arguments = json.dumps(block.get("input") or {}, ensure_ascii=False, indent=1)
                blocks.append({"kind": "tool_use", "name": block.get("name", "?"), "text": arguments[:4000]})
            elif kind == "tool_result":
                content = block.get("content")
                if isinstance(content, list):
                    content = "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
                blocks.append(
                    {"kind": "tool_result", "text": str(content or "")[:4000], "error": bool(block.get("is_error"))}
                )
        shown.append({"role": message["role"], "blocks": blocks})
    return shown
