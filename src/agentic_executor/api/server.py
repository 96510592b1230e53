"""Run the API on uvicorn, with this process's own worker unless told not to (``agx serve``).

Without any API token the API is open, so it only listens on loopback; a non-loopback address
needs a token to exist first, and then every request needs one (``auth.Authenticator``).
"""

from __future__ import annotations

from collections.abc import Callable

import uvicorn

from agentic_executor.api.app import create_app
from agentic_executor.api.auth import is_loopback
from agentic_executor.app import App
from agentic_executor.errors import BadInput
from agentic_executor.store import queries


def serve(
    app: App,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    worker: bool = True,
    worker_id: str | None = None,
    concurrency: int | None = None,
    say: Callable[[str], None] = print,
) -> None:
    """Serve until SIGINT/SIGTERM; the in-process worker (if any) stops with the server."""
    with app.db.read() as conn:
        tokens = queries.active_token_count(conn)
    loopback = is_loopback(host)
    if not tokens and not loopback:
        raise BadInput(
            f"no API token exists, so {host} would serve anyone: create one first "
            "(agx token create --name NAME --scope admin) or listen on 127.0.0.1",
            details={"field": "host"},
        )
    if not tokens:
        say(f"auth is off (no API token exists): listening on loopback only, http://{host}:{port}")
    else:
        say(f"auth is on ({tokens} API tokens): http://{host}:{port}")
    say(f"dashboard: http://{host}:{port}/ · API docs: http://{host}:{port}/docs")
    api = create_app(app, always_require_auth=not loopback)
    config = uvicorn.Config(
        api, host=host, port=port, log_level="warning", access_log=False, timeout_graceful_shutdown=3
    )
    runner = None
    if worker:
        from agentic_executor.runtime.worker import Worker, default_worker_id

        runner = Worker(app, worker_id or default_worker_id(), concurrency=concurrency)
        runner.start()
        say(f"worker {runner.id}: {runner.concurrency} session runs at once")
    try:
        uvicorn.Server(config).run()
    finally:
        if runner is not None:
            runner.stop()
