"""What every route needs from the request: the shared ``App`` and the server's own base URL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request

from agentic_executor.app import App


def get_app(request: Request) -> App:
    app: App = request.app.state.agx
    return app


def base_url(request: Request) -> str:
    """``http://host:port`` as the client reached us, for the absolute URLs we hand out."""
    return str(request.base_url).rstrip("/")


AppDep = Annotated[App, Depends(get_app)]


T = TypeVar("T")


async def quick_read(app: App, read: Callable[[], T]) -> T:
    """Run a short read for an ``async`` route: inline on SQLite, where it is a local read of well
    under a millisecond that never waits for writers (WAL) and the hop to a worker thread would
    cost more than the read (status reads/s +40%); in a worker thread on PostgreSQL, where a
    network round trip must not stall the event loop."""
    if app.db.is_sqlite:
        return read()
    return await anyio.to_thread.run_sync(read)
