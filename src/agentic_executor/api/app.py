"""``create_app(app)``: the FastAPI application over one ``App`` (settings, database, ledger).

One router per area (submit, sessions, convoys, events, preview, review, monitoring, auth, and
the dashboard's pages, which are not part of the OpenAPI spec), one
error handler (``api.errors``), a body-size limit, OpenAPI docs at ``/docs``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from agentic_executor import __version__
from agentic_executor.api import auth, convoys, errors, events, metrics, preview, review, sessions, submit
from agentic_executor.app import App
from agentic_executor.dashboard import pages

THREADS = 16

DESCRIPTION = """Submit tasks that autonomous agents run under a **hard dollar budget that is never
exceeded**, follow them live, and review the result. Paths and JSON shapes follow the seed's API.

Every error is `{"error": {"code", "message", "details"}}`. When the server has API tokens, send
`Authorization: Bearer agx_…` (`agx token create`); a token sees only its own tenant's sessions."""


def create_app(app: App, *, always_require_auth: bool = False) -> FastAPI:
    """The API over ``app``. ``always_require_auth``: refuse requests without a valid token even
    when no token exists yet (any non-loopback bind); otherwise auth is on once a token exists."""
    hub = events.EventHub(app)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in anyio's thread pool; a few threads keep the GIL and the database's
        # connection pool from thrashing under load (40 by default).
        anyio.to_thread.current_default_thread_limiter().total_tokens = THREADS
        yield
        await hub.close()

    api = FastAPI(
        title="Agentic Executor",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    api.state.agx = app
    api.state.auth = auth.Authenticator(app, always_required=always_require_auth)
    api.state.events = hub
    registry = CollectorRegistry(auto_describe=True)
    registry.register(metrics.ServiceCollector(app))
    api.state.metrics = registry
    errors.install(api)
    for module in (submit, sessions, events, convoys, review, preview, metrics, auth, pages):
        api.include_router(module.router)
    api.add_middleware(errors.BodyLimit)
    api.add_middleware(pages.BrowserRedirect)
    return api
