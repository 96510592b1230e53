"""``agx``: run agents under a hard budget from the terminal. Thin: every command calls the library.

Exit codes: 0 awaiting review (or approved) · 2 bad input · 3 budget exhausted · 4 failed ·
5 paused or cancelled.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

from agentic_executor import __version__
from agentic_executor.app import App
from agentic_executor.cli_gates import gates_command
from agentic_executor.cli_serve import serve, stats, token_app
from agentic_executor.config import Settings, get_settings
from agentic_executor.errors import AgxError

app = typer.Typer(
    help="Agentic Executor: autonomous agents under a hard dollar budget.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("gates")(gates_command)
app.command()(serve)
app.command()(stats)
app.add_typer(token_app, name="token")
console = Console(stderr=True)
EXIT_CODES = {"awaiting_review": 0, "approved": 0, "budget_exhausted": 3, "failed": 4, "paused": 5, "cancelled": 5}

SEED_PROMPT = (
    "Create a fitness studio template with class schedule, instructor bios, and membership tiers. "
    "Style: Canon-compliant, black & white."
)
SEED_CRITERIA = [
    "Homepage renders with studio name",
    "Class schedule displays with filtering",
    "All quality gates pass",
]


def main() -> None:
    try:
        app()
    except AgxError as exc:
        sys.stderr.write(f"error: {exc.message}\n")  # plain: no markup, no wrapping
        sys.exit(2)


@app.command()
def run(
    prompt: Annotated[str, typer.Argument(help="What the agent should do.")],
    budget: Annotated[float, typer.Option(help="Hard budget in US dollars (never exceeded).")],
    criteria: Annotated[
        list[str] | None, typer.Option("--criteria", help="An acceptance criterion (repeatable).")
    ] = None,
    task_type: Annotated[str, typer.Option("--type", help="Task type, e.g. template-generation.")] = "task",
    model: Annotated[str | None, typer.Option(help="claude-… (Anthropic), openai:NAME, or replay:SESSION_ID.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (the seed's session shape).")] = False,
) -> None:
    """Run one task in the foreground on the embedded default; Ctrl-C pauses cleanly."""
    from agentic_executor.providers import make_provider

    with App.opened() as a:
        provider = make_provider(a, model or a.settings.default_model)
        _run_and_report(a, provider, prompt, budget, criteria or [], task_type, model, as_json)


@app.command()
def demo(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of the live view.")] = False,
    scenario: Annotated[
        str, typer.Option(help="Simulated model behaviour: builder, thinker, liar, injector, flaky, spender.")
    ] = "thinker",
    budget: Annotated[float, typer.Option(help="Budget in US dollars.")] = 5.0,
) -> None:
    """Run the seed's fitness-studio task on the built-in SIMULATED model (no API key needed)."""
    from agentic_executor.providers.anthropic import AnthropicProvider
    from agentic_executor.testing import FakeModelServer

    with App.opened() as a, FakeModelServer(scenario=scenario) as server:
        missing = _demo_tolerate_missing_gate_tools(a)
        if missing and not as_json:
            console.print(f"[yellow]{missing}[/]", highlight=False)
        if not as_json:
            console.print(
                f"[bold yellow]Simulated model[/] ({scenario}) at {server.base_url}: no real API is called. "
                f"Data lives in {a.settings.home}. Review the result afterwards in the dashboard: "
                "agx serve, then open http://127.0.0.1:8080/"
            )
        provider = AnthropicProvider(
            api_key="simulated", base_url=server.base_url, thinking_mode=a.settings.thinking_mode
        )
        try:
            _run_and_report(a, provider, SEED_PROMPT, budget, SEED_CRITERIA, "template-generation", None, as_json)
        finally:
            provider.close()


def _demo_tolerate_missing_gate_tools(a: App) -> str:
    """On a machine without Chromium or Lighthouse, the demo lets the browser gates be unavailable
    (in a demo-only gates file) instead of rejecting every claim; real sessions are not affected."""
    from agentic_executor.gates.browser import BrowserUnavailable, find_chromium
    from agentic_executor.gates.lighthouse import LighthouseUnavailable, find_lighthouse

    skipped, why = [], []
    try:
        find_chromium()
    except BrowserUnavailable as exc:
        skipped += ["accessibility", "performance"]
        why.append(exc.args[0] if exc.args else str(exc))
    try:
        find_lighthouse()
    except LighthouseUnavailable as exc:
        skipped += ["accessibility", "performance"]
        why.append(exc.args[0] if exc.args else str(exc))
    if not skipped or a.settings.gates_file is not None:
        return ""
    demo_gates = a.settings.home / "demo-gates.toml"
    names = ", ".join(f'"{g}"' for g in dict.fromkeys(skipped))
    demo_gates.write_text(f"[task_types.template-generation]\nallow_unavailable = [{names}]\n")
    a.settings.gates_file = demo_gates
    gates = " and ".join(dict.fromkeys(skipped))
    return f"note: the {gates} gates cannot run here ({'; '.join(why)}): skipped in this demo."


def _run_and_report(
    a: App,
    provider: Any,
    prompt: str,
    budget: float,
    criteria: list[str],
    task_type: str,
    model: str | None,
    as_json: bool,
) -> None:
    from agentic_executor.engine.loop import Progress, run_session
    from agentic_executor.engine.submit import submit_task
    from agentic_executor.views import session_status

    session = submit_task(a, prompt, budget, criteria=criteria, task_type=task_type, model=model)
    interrupt = threading.Event()
    with _pause_on_ctrl_c(interrupt):
        if as_json:
            status = run_session(a, session.id, provider, interrupt=interrupt)
        else:
            view = _LiveView(session.id)
            with Live(view.render(), console=console, refresh_per_second=8, transient=False) as live:

                def progress(p: Progress) -> None:
                    view.update(p)
                    live.update(view.render())

                status = run_session(a, session.id, provider, interrupt=interrupt, on_progress=progress)
    report = session_status(a, session.id)
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        _print_summary(report)
    raise typer.Exit(EXIT_CODES.get(status, 4))


@contextmanager
def _pause_on_ctrl_c(interrupt: threading.Event) -> Iterator[None]:
    """First Ctrl-C: pause at the next iteration boundary (the call in flight is kept). Second: abort."""

    def handler(signum: int, frame: Any) -> None:
        if interrupt.is_set():
            raise KeyboardInterrupt
        interrupt.set()
        console.print("[yellow]pausing after the current iteration (Ctrl-C again to abort)…[/]")

    previous: Callable[..., Any] | int | None = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class _LiveView:
    def __init__(self, session_id: str) -> None:
        self.session_id = session_id
        self.progress: Any = None

    def update(self, progress: Any) -> None:
        self.progress = progress

    def render(self) -> Table:
        table = Table.grid(padding=(0, 2))
        p = self.progress
        if p is None:
            table.add_row(f"[bold]{self.session_id}[/]", "starting…")
            return table
        width = 30
        filled = int(width * min(p.committed_micros / p.allocated_micros, 1.0)) if p.allocated_micros else 0
        bar = "█" * filled + "░" * (width - filled)
        table.add_row(f"[bold]{p.session_id}[/]", f"iteration {p.iteration}", p.status)
        table.add_row(
            "spend",
            f"{bar} ${p.committed_micros / 1e6:.4f} / ${p.allocated_micros / 1e6:.2f}",
            f"last: {p.last_action}",
        )
        return table


def _print_summary(report: dict[str, Any]) -> None:
    s, b = report["session"], report["budget"]
    tokens_in = sum(i["inputTokens"] + i["cacheReadTokens"] + i["cacheWriteTokens"] for i in report["iterations"])
    tokens_out = sum(i["outputTokens"] for i in report["iterations"])
    table = Table(title=f"session {s['id']}", show_header=False)
    for key, value in [
        ("status", s["status"]),
        ("cost", f"${b['consumed']:.6f} of ${b['allocated']:.2f} ({b['percentUsed']}%)"),
        ("tokens", f"{tokens_in} in, {tokens_out} out"),
        ("iterations", str(s["iteration"])),
        ("workspace", s["workspace"] or "-"),
        ("preview", report["preview"] or "-"),
    ]:
        table.add_row(key, value)
    Console().print(table)


@app.command()
def sessions(
    status: Annotated[str | None, typer.Option(help="Only sessions in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 20,
) -> None:
    """List sessions, newest first."""
    from agentic_executor.store import queries

    with App.opened() as a, a.db.transaction() as conn:
        rows = queries.list_sessions(conn, status=status, limit=limit)
    columns = ("id", "status", "iter", "spent", "budget", "model", "created")
    lines = [
        (
            r.id,
            r.status,
            str(r.iteration),
            f"${r.consumed_micros / 1e6:.4f}",
            f"${r.budget_micros / 1e6:.2f}",
            r.model,
            r.created_at.strftime("%Y-%m-%d %H:%M"),
        )
        for r in rows
    ]
    out = Console()
    if not out.is_terminal:  # piped: one tab-separated line per session, for scripts
        sys.stdout.write("".join("\t".join(line) + "\n" for line in [columns, *lines]))
        return
    table = Table(*columns)
    for line in lines:
        table.add_row(*line)
    out.print(table)


@app.command()
def status(
    session_id: Annotated[str, typer.Argument(help="A session id (agt_…).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the seed's session-status JSON.")] = False,
) -> None:
    """Show one session."""
    from agentic_executor.views import session_status

    with App.opened() as a:
        report = session_status(a, session_id)
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        _print_summary(report)


@app.command()
def submit(
    prompt: Annotated[str, typer.Argument(help="What the agent should do.")],
    budget: Annotated[float, typer.Option(help="Hard budget in US dollars (never exceeded).")],
    criteria: Annotated[
        list[str] | None, typer.Option("--criteria", help="An acceptance criterion (repeatable).")
    ] = None,
    task_type: Annotated[str, typer.Option("--type", help="Task type, e.g. template-generation.")] = "task",
    model: Annotated[str | None, typer.Option(help="claude-… (Anthropic), openai:NAME, or replay:SESSION_ID.")] = None,
) -> None:
    """Queue a task for the workers (`agx worker`); prints the seed's submit response JSON."""
    from agentic_executor.engine.submit import submit_task
    from agentic_executor.runtime.control import enqueue

    with App.opened() as a:
        session = submit_task(a, prompt, budget, criteria=criteria or [], task_type=task_type, model=model)
        enqueue(a, session.id)
    sys.stdout.write(
        json.dumps(
            {
                "taskId": session.id,
                "epicId": session.epic_id,
                "status": "queued",
                "budget": session.budget_micros / 1e6,
                "statusUrl": f"/tasks/{session.id}",
            }
        )
        + "\n"
    )


@app.command()
def worker(
    worker_id: Annotated[
        str | None,
        typer.Option(
            "--id", help="Stable worker id (restart with the same id to recover its runs). Default: host-pid."
        ),
    ] = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Session runs at once in this worker.")] = None,
) -> None:
    """Run queued sessions until SIGTERM/Ctrl-C (SQLite by default; AGX_DATABASE_URL for PostgreSQL)."""
    from agentic_executor.runtime.worker import Worker, default_worker_id

    with App.opened() as a:
        w = Worker(a, worker_id or default_worker_id(), concurrency=concurrency)
        console.print(f"worker {w.id}: {w.concurrency} at once, database {a.settings.db_url.split('?')[0]}")
        w.run_forever()


@app.command()
def wait(
    session_id: Annotated[str, typer.Argument(help="A session id (agt_…).")],
    timeout: Annotated[float | None, typer.Option(help="Give up after this many seconds.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the seed's session-status JSON at the end.")] = False,
) -> None:
    """Wait until the session stops; exits with the session's status code (0, 3, 4, 5)."""
    from agentic_executor.runtime.control import wait as wait_for
    from agentic_executor.views import session_status

    with App.opened() as a:
        session = wait_for(a, session_id, timeout=timeout)
        report = session_status(a, session_id)
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        _print_summary(report)
    raise typer.Exit(EXIT_CODES.get(session.status, 6))


@app.command()
def pause(session_id: Annotated[str, typer.Argument(help="A session id (agt_…).")]) -> None:
    """Pause at the next iteration boundary (the call in flight is kept)."""
    from agentic_executor.runtime import control

    with App.opened() as a:
        control.pause(a, session_id)
    console.print(f"{session_id}: pause requested")


@app.command()
def resume(
    session_id: Annotated[str, typer.Argument(help="A session id (agt_…).")],
    feedback: Annotated[str | None, typer.Option(help="A message for the agent, added to the conversation.")] = None,
) -> None:
    """Queue a paused or stopped session again, continuing the same conversation."""
    from agentic_executor.runtime import control

    with App.opened() as a:
        session = control.resume(a, session_id, feedback=feedback)
    console.print(f"{session_id}: queued again (run {session.run_no})")


@app.command()
def cancel(session_id: Annotated[str, typer.Argument(help="A session id (agt_…).")]) -> None:
    """Cancel at the next iteration boundary."""
    from agentic_executor.runtime import control

    with App.opened() as a:
        control.cancel(a, session_id)
    console.print(f"{session_id}: cancel requested")


@app.command()
def budget(
    session_id: Annotated[str, typer.Argument(help="A session id (agt_…).")],
    add: Annotated[float, typer.Option("--add", help="Dollars to add to the session's budget.")],
) -> None:
    """Add budget to a session (then `agx resume ID` if it stopped as budget_exhausted)."""
    from agentic_executor.runtime import control

    with App.opened() as a:
        session = control.add_budget(a, session_id, add)
    console.print(f"{session_id}: budget is now ${session.budget_micros / 1e6:.2f}")


@app.command("config")
def show_config() -> None:
    """Print the effective settings and where each came from."""
    import os

    settings = get_settings()
    table = Table("setting", "value", "source")
    for name in Settings.model_fields:
        env = f"AGX_{name.upper()}"
        table.add_row(name, str(getattr(settings, name)), f"env {env}" if env in os.environ else "default")
    table.add_row("database", settings.db_url, "derived")
    table.add_row("version", __version__, "package")
    Console().print(table)


@app.command("fake-model")
def fake_model(
    port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1 (0 picks a free one).")] = 8765,
    scenario: Annotated[str, typer.Option(help="builder, spender, liar, injector, flaky, thinker.")] = "builder",
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Serve the simulated Anthropic Messages API (for tests and demos; not a real model)."""
    from agentic_executor.errors import BadInput
    from agentic_executor.testing import SCENARIOS
    from agentic_executor.testing import run as run_fake

    if scenario not in SCENARIOS:
        raise BadInput(f"unknown scenario {scenario!r}: choose one of {', '.join(sorted(SCENARIOS))}")
    run_fake(host, port, scenario)
