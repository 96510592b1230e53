"""``agx gates PATH``: run the quality gates on any folder (served on loopback) and print the findings.

Exit codes: 0 every gate passed · 1 a gate failed · 2 bad input (one line on stderr, no traceback).
Thin: the gates live in ``agentic_executor.gates``; this only picks them, runs them and prints.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from agentic_executor.errors import AgxError, BadInput
from agentic_executor.gates import Gate, GateResult, get_gate, registered_gates
from agentic_executor.gates.config import GatesConfig, gates_file_for, load_gates_config


def gates_command(
    path: Annotated[Path, typer.Argument(help="The folder to check; it is served on 127.0.0.1 while the gates run.")],
    gate: Annotated[
        list[str] | None,
        typer.Option("--gate", help="Run only this gate (repeatable): canon, accessibility, performance, security."),
    ] = None,
    task_type: Annotated[
        str | None, typer.Option("--type", help="Run the gates (and options) of this task type instead of all gates.")
    ] = None,
    config_file: Annotated[
        Path | None, typer.Option("--config", help="A gates config TOML (default: $AGX_HOME/gates.toml if it exists).")
    ] = None,
    reports: Annotated[
        Path | None, typer.Option("--reports", help="Where to keep reports (default: $AGX_HOME/reports/cli-<time>).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Run the quality gates on a folder and print their findings (exit 0 all pass, 1 a gate fails)."""
    from agentic_executor.config import get_settings
    from agentic_executor.gates.runner import run_gates

    try:
        settings = get_settings()
        config = load_gates_config(config_file or gates_file_for(settings), required=config_file is not None)
        chosen = _choose(path, gate or [], task_type, config)
        report_dir = reports or settings.home / "reports" / f"cli-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
        results = run_gates(path, chosen, config=config, task_type=task_type, report_dir=report_dir)
    except AgxError as exc:
        sys.stderr.write(f"error: {exc.message}\n")
        raise typer.Exit(2) from None
    passed = all(r.passed for r in results)
    if as_json:
        payload = {"path": str(path.resolve()), "passed": passed, "reports": str(report_dir)}
        sys.stdout.write(json.dumps({**payload, "gates": [r.to_dict() for r in results]}) + "\n")
    else:
        sys.stdout.write("".join(line + "\n" for line in render(results)))
        sys.stdout.write(f"{sum(r.passed for r in results)} of {len(results)} gates passed; reports in {report_dir}\n")
    raise typer.Exit(0 if passed else 1)


def _choose(path: Path, names: list[str], task_type: str | None, config: GatesConfig) -> list[Gate]:
    if not path.exists():
        raise BadInput(f"{path} does not exist: give the folder to check", details={"field": "path"})
    if not path.is_dir():
        raise BadInput(f"{path} is not a folder: give the folder that holds the site", details={"field": "path"})
    if not names:
        names = config.gates_for(task_type) if task_type else [g.name for g in registered_gates()]
    known = {g.name for g in registered_gates()}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise BadInput(
            f"no gate named {unknown[0]!r}; known gates: {', '.join(sorted(known))}", details={"field": "gate"}
        )
    return [g for g in (get_gate(n) for n in dict.fromkeys(names)) if g is not None]


def render(results: list[GateResult]) -> list[str]:
    """Plain text, one block per gate: status line, then each finding with its fix."""
    lines = []
    for r in results:
        status = "passed" if r.passed else "FAILED"
        score = f"score {r.score:g}" if r.score is not None else ""
        lines.append(f"{r.gate:<14} {status:<7} {len(r.findings):>3} findings  {score:<10} {r.duration_s:6.1f} s")
        if r.unavailable:
            lines.append(f"    unavailable: {r.unavailable}")
        if r.error:
            lines.append(f"    error: {r.error}")
        for f in r.findings:
            lines.append(f"  - [{f.severity}] {f.rule} at {f.location}")
            lines.append(f"      {f.message}")
            lines.append(f"      fix: {f.fix}")
        lines.extend(f"    note: {note}" for note in r.notes)
        lines.extend(f"    report: {report}" for report in r.reports)
    return lines
