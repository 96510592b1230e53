"""Completion validation: the agent claims it is done; code decides (invariant 2).

A claim is approved only when the workspace holds real work, every acceptance criterion that
can be checked mechanically holds, and every quality gate of the session's task type passes
(the gates config picks them; ``gates/``). Otherwise the verdict lists the required actions —
each gate finding among them — which the loop hands back to the agent. Gate results are kept
whole in ``Verdict.gate_results`` (one ``gate_result`` event each) and their reports under
``$AGX_HOME/reports/<session>/<claim time>/``, outside the workspace.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agentic_executor.config import Settings, get_settings
from agentic_executor.gates import Gate, GateResult, get_gate
from agentic_executor.gates.config import gates_file_for, load_gates_config
from agentic_executor.gates.markup import parse_html
from agentic_executor.gates.runner import UnregisteredGate, run_gates

FILE_MENTION = re.compile(r"\b([\w./-]+\.(?:html|htm|css|js|ts|py|md|json|txt|svg))\b")
PAGE_WORDS = re.compile(r"\b(page|homepage|renders?|template|site|html)\b", re.I)
ACTIONS_PER_GATE = 15


@dataclass
class Verdict:
    approved: bool
    required_actions: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    for_reviewer: list[str] = field(default_factory=list)
    gate_results: list[dict[str, Any]] = field(default_factory=list)
    """One dict per gate run (``GateResult.to_dict``): the loop records each as a ``gate_result`` event."""


def work_files(workspace: Path) -> list[Path]:
    return [p for p in workspace.rglob("*") if p.is_file() and ".git" not in p.relative_to(workspace).parts]


def _page_problems(workspace: Path) -> list[str]:
    page = workspace / "index.html"
    if not page.is_file() or page.stat().st_size == 0:
        return ["create index.html: the page that the preview serves"]
    parsed = parse_html(page.read_text(errors="replace"))
    problems = []
    if not {"html", "body"} <= parsed.tags():
        problems.append("index.html must be a complete HTML document (<html> and <body>)")
    if not parsed.title:
        problems.append("index.html needs a non-empty <title>")
    if "h1" not in parsed.tags():
        problems.append("index.html needs a main heading (<h1>)")
    return problems


def validate_completion(
    workspace: Path,
    criteria: list[str],
    task_type: str,
    summary: str,
    gates: list[Gate] | None = None,
    *,
    settings: Settings | None = None,
    session_id: str | None = None,
    preview_url: str | None = None,
) -> Verdict:
    """Check a completion claim. ``gates`` overrides the task type's gates from the gates config;
    without ``preview_url`` the workspace is served on loopback while the gates run."""
    verdict = Verdict(approved=False)
    files = work_files(workspace)
    if not files:
        verdict.required_actions.append("the workspace is empty: do the work before claiming completion")
    if not summary.strip():
        verdict.required_actions.append("call complete_task with a summary of what was built")
    wants_page = "template" in task_type or any(PAGE_WORDS.search(c) for c in criteria)
    if wants_page:
        problems = _page_problems(workspace)
        verdict.checks.append({"check": "page", "passed": not problems, "problems": problems})
        verdict.required_actions.extend(problems)
    for criterion in criteria:
        named = FILE_MENTION.findall(criterion)
        missing = [n for n in named if not (workspace / n).is_file()]
        if named:
            verdict.checks.append({"check": "files", "criterion": criterion, "passed": not missing})
            verdict.required_actions.extend(f"create {n} (acceptance criterion: {criterion})" for n in missing)
        elif not (wants_page and PAGE_WORDS.search(criterion)) and "quality gate" not in criterion.lower():
            verdict.for_reviewer.append(criterion)
    if files:  # an empty workspace has nothing to check; the claim is rejected above
        settings = settings or get_settings()
        config = load_gates_config(gates_file_for(settings))
        chosen = (
            gates if gates is not None else [get_gate(n) or UnregisteredGate(n) for n in config.gates_for(task_type)]
        )
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        report_dir = settings.home / "reports" / (session_id or workspace.name) / stamp
        results = run_gates(
            workspace, chosen, config=config, task_type=task_type, preview_url=preview_url, report_dir=report_dir
        )
        for result in results:
            verdict.gate_results.append(result.to_dict())
            verdict.checks.append(
                {
                    "check": f"gate:{result.gate}",
                    "passed": result.passed,
                    "score": result.score,
                    "findings": len(result.findings),
                    "unavailable": result.unavailable,
                    "error": result.error,
                }
            )
            if not result.passed:
                verdict.required_actions.extend(gate_actions(result))
    verdict.approved = not verdict.required_actions
    return verdict


def gate_actions(result: GateResult) -> list[str]:
    """What the agent must do about a failed gate: one action per finding (the first few)."""
    gate = result.gate
    if result.error:
        return [f"{gate} gate: it could not check the work ({result.error}); make the site load and parse cleanly"]
    if result.unavailable:
        return [f"{gate} gate: it could not run ({result.unavailable}); this needs the operator, not a code change"]
    actions = [
        f"{gate}: {f.rule} at {f.location}: {f.message} — fix: {f.fix}" for f in result.findings[:ACTIONS_PER_GATE]
    ]
    if len(result.findings) > ACTIONS_PER_GATE:
        actions.append(
            f"{gate}: {len(result.findings) - ACTIONS_PER_GATE} more findings of the same kinds; fix them all"
        )
    return actions or [f"{gate} gate failed (score {result.score})"]
