"""``GET /api/agentic/sessions/{id}/events``: a session's events as a live server-sent-event stream.

Each event is sent with its row id as the SSE ``id``, so a client that reconnects with
``Last-Event-ID`` (EventSource does it by itself) gets every event after it, and nothing twice.

One poller serves every open stream (``EventHub``): a single indexed query per tick for all
sessions, whatever the number of clients, fanned out to the subscribers of each session. On
PostgreSQL an id can become visible after a higher one (transactions commit out of id order), so
the hub remembers the gaps it has seen and looks for them again for ``GAP_WAIT_S`` seconds before
giving up on them (a rolled-back insert leaves a gap forever).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from agentic_executor.api.auth import Reader
from agentic_executor.api.deps import get_app
from agentic_executor.api.errors import documented
from agentic_executor.api.sessions import SessionId
from agentic_executor.app import App
from agentic_executor.store import queries
from agentic_executor.store.queries import EventRow

POLL_S = 0.25
GAP_WAIT_S = 10.0
KEEPALIVE_S = 15.0
BATCH = 1000


class EventHub:
    def __init__(self, app: App, *, poll_s: float = POLL_S) -> None:
        self.app, self.poll_s = app, poll_s
        self.subscribers: dict[str, set[asyncio.Queue[EventRow]]] = {}
        self.cursor: int | None = None  # highest id delivered
        self.gaps: dict[int, float] = {}  # ids below the cursor not seen yet → when first missed
        self._task: asyncio.Task[None] | None = None

    async def subscribe(self, session_id: str) -> asyncio.Queue[EventRow]:
        """A queue of the session's events from now on (the caller reads the backlog itself)."""
        queue: asyncio.Queue[EventRow] = asyncio.Queue()
        if self._task is None or self._task.done():  # idle until now: start from the newest event
            self.cursor, self.gaps = await anyio.to_thread.run_sync(self._max_id), {}
            self._task = asyncio.create_task(self._run())
        self.subscribers.setdefault(session_id, set()).add(queue)
        return queue

    def unsubscribe(self, session_id: str, queue: asyncio.Queue[EventRow]) -> None:
        queues = self.subscribers.get(session_id)
        if queues is not None:
            queues.discard(queue)
            if not queues:
                del self.subscribers[session_id]

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while self.subscribers:
            try:
                rows = await anyio.to_thread.run_sync(self._poll)
            except Exception:  # a busy database: try again next tick
                rows = []
            for row in rows:
                for queue in self.subscribers.get(row.session_id, ()):
                    queue.put_nowait(row)
            if len(rows) < BATCH:
                await asyncio.sleep(self.poll_s)

    def _max_id(self) -> int:
        with self.app.db.read() as conn:
            return queries.max_event_id(conn)

    def _poll(self) -> list[EventRow]:
        assert self.cursor is not None
        now = time.monotonic()
        self.gaps = {i: t for i, t in self.gaps.items() if now - t < GAP_WAIT_S}
        floor = min(self.gaps) - 1 if self.gaps else self.cursor
        with self.app.db.read() as conn:
            rows = queries.events_since(conn, floor, limit=BATCH)
        fresh = [r for r in rows if r.id > self.cursor or r.id in self.gaps]
        if not fresh:
            return []
        seen = {r.id for r in rows}
        top = max(r.id for r in fresh)
        for missing in range(self.cursor + 1, top):
            if missing not in seen:
                self.gaps[missing] = now
        for r in fresh:
            self.gaps.pop(r.id, None)
        self.cursor = max(self.cursor, top)
        return fresh


def sse(event: EventRow) -> str:
    return f"id: {event.id}\nevent: {event.type}\ndata: {json.dumps(event.to_json(), ensure_ascii=False)}\n\n"


router = APIRouter(tags=["events"], responses=documented(401, 403, 404, 413, 422, 503))


@router.get(
    "/api/agentic/sessions/{session_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events, one per row."}},
)
async def stream_events(
    request: Request,
    session_id: SessionId,
    principal: Reader,
    last_event_id: Annotated[str | None, Header(pattern=r"^\d{1,18}$")] = None,
    after: Annotated[int | None, Query(ge=0, le=10**18, description="Same as Last-Event-ID.")] = None,
    follow: Annotated[bool, Query(description="false: send the events so far, then end the stream.")] = True,
) -> StreamingResponse:
    """Every event of the session (iteration done, budget warning, tool call, rejection, gate result,
    status change, …) as ``text/event-stream``; ``event:`` is the event type, ``id:`` its row id.
    Reconnect with ``Last-Event-ID`` (or ``?after=``) to resume after that event."""
    app = get_app(request)
    with app.db.read() as conn:
        queries.get_session_in(conn, session_id, principal.tenant)
    start = int(last_event_id) if last_event_id is not None else after or 0
    hub: EventHub = request.app.state.events
    return StreamingResponse(
        _stream(app, hub, session_id, start, follow),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _stream(app: App, hub: EventHub, session_id: str, after: int, follow: bool) -> AsyncIterator[str]:
    queue = await hub.subscribe(session_id) if follow else None
    try:
        yield "retry: 2000\n\n"
        sent: set[int] = set()
        while True:  # the backlog, in pages
            page = await anyio.to_thread.run_sync(_backlog, app, session_id, after)
            for event in page:
                sent.add(event.id)
                yield sse(event)
            if len(page) < BATCH:
                break
            after = page[-1].id
        if queue is None:
            return
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if event.id not in sent:
                sent.add(event.id)
                yield sse(event)
    finally:
        if queue is not None:
            hub.unsubscribe(session_id, queue)


def _backlog(app: App, session_id: str, after: int) -> list[EventRow]:
    with app.db.read() as conn:
        return queries.events_since(conn, after, session_id=session_id, limit=BATCH)
