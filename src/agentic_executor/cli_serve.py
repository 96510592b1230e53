"""``agx serve``, ``agx stats`` and ``agx token …``: the HTTP API, monitoring, API tokens.

Registered in ``cli.py``; ``python -m agentic_executor.cli_serve`` runs these commands alone.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from agentic_executor.app import App

console = Console(stderr=True)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on (non-loopback needs an API token).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8080,
    no_worker: Annotated[bool, typer.Option("--no-worker", help="API only: run `agx worker` elsewhere.")] = False,
    worker_id: Annotated[str | None, typer.Option("--worker-id", help="Stable id of the in-process worker.")] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Session runs at once in this process.")] = None,
) -> None:
    """Serve the review dashboard (at /) and the HTTP API (docs at /docs); unless --no-worker, run
    queued sessions in this process."""
    from agentic_executor.api.server import serve as run_server

    with App.opened() as a:
        run_server(
            a,
            host=host,
            port=port,
            worker=not no_worker,
            worker_id=worker_id,
            concurrency=concurrency,
            say=lambda line: console.print(line, markup=False, highlight=False),
        )


def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Print the seed's monitoring queries: daily spend, budget exhaustion rate, top expensive tasks."""
    from agentic_executor.store import queries

    with App.opened() as a, a.db.read() as conn:
        daily = queries.daily_spend(conn)
        rate = queries.exhaustion_rate(conn)
        top = queries.top_expensive(conn)
    if as_json:
        sys.stdout.write(json.dumps({"daily_spend": daily, "exhaustion_rate": rate, "top_expensive": top}) + "\n")
        return
    out = Console()
    table = Table("date", "total_cost", "sessions", title="Daily spend (last 7 days)")
    for row in daily:
        table.add_row(row["date"], f"${row['total_cost']:.4f}", str(row["sessions"]))
    out.print(table)
    table = Table("total", "exhausted", "avg_utilization", title="Budget exhaustion (last 30 days)")
    avg = rate["avg_utilization"]
    table.add_row(str(rate["total"]), str(rate["exhausted"]), "-" if avg is None else f"{avg}%")
    out.print(table)
    table = Table("issue_id", "cost_consumed", "iteration", "status", title="Top expensive tasks")
    for row in top:
        table.add_row(row["issue_id"], f"${row['cost_consumed']:.4f}", str(row["iteration"]), row["status"])
    out.print(table)


token_app = typer.Typer(help="API tokens (stored hashed; each sees only its tenant's sessions).", no_args_is_help=True)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="A name for the token, e.g. ci or alice.")],
    scope: Annotated[str, typer.Option(help="read, submit (+read), review (+read) or admin (everything).")] = "read",
    tenant: Annotated[str, typer.Option(help="Whose sessions the token sees and submits.")] = "default",
) -> None:
    """Create a token and print it once (only its hash is stored)."""
    from agentic_executor.api.auth import create_token

    with App.opened() as a:
        secret = create_token(a, name, scope, tenant)
    console.print(f"token {name!r}: scope {scope}, tenant {tenant!r}. Keep it now; it is not shown again.")
    sys.stdout.write(secret + "\n")


@token_app.command("list")
def token_list() -> None:
    """List tokens (never their secrets)."""
    from agentic_executor.store import queries

    with App.opened() as a, a.db.read() as conn:
        rows = queries.list_tokens(conn)
    table = Table("id", "name", "tenant", "scope", "created", "revoked")
    for t in rows:
        revoked = t.revoked_at.strftime("%Y-%m-%d %H:%M") if t.revoked_at else "-"
        table.add_row(t.id, t.name, t.tenant, t.scope, t.created_at.strftime("%Y-%m-%d %H:%M"), revoked)
    Console().print(table)


@token_app.command("revoke")
def token_revoke(name_or_id: Annotated[str, typer.Argument(help="A token's name or id.")]) -> None:
    """Revoke tokens by name or id (servers notice within 5 seconds)."""
    from agentic_executor.errors import NotFound
    from agentic_executor.store import queries

    with App.opened() as a, a.db.transaction() as conn:
        revoked = queries.revoke_token(conn, name_or_id)
    if not revoked:
        raise NotFound(f"no live token named {name_or_id!r}")
    console.print(f"revoked {revoked} token(s)")


def main() -> None:
    """These commands alone (``python -m agentic_executor.cli_serve``), as ``agx`` runs them."""
    from agentic_executor.cli import app
    from agentic_executor.cli import main as agx_main

    registered = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    if "serve" not in registered:
        app.command()(serve)
        app.command()(stats)
        app.add_typer(token_app, name="token")
    agx_main()


if __name__ == "__main__":
    main()
