"""Completion validation: the agent claims it is done; code decides (invariant 2).

A claim is approved only when the workspace holds real work, every acceptance criterion that
can be checked mechanically holds, and every registered quality gate passes. Otherwise the
verdict lists the required actions, which the loop hands back to the agent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from agentic_executor.gates import Gate, registered_gates

FILE_MENTION = re.compile(r"\b([\w./-]+\.(?:html|htm|css|js|ts|py|md|json|txt|svg))\b")
PAGE_WORDS = re.compile(r"\b(page|homepage|renders?|template|site|html)\b", re.I)


@dataclass
class Verdict:
    approved: bool
    required_actions: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    for_reviewer: list[str] = field(default_factory=list)


def work_files(workspace: Path) -> list[Path]:
    return [p for p in workspace.rglob("*") if p.is_file() and ".git" not in p.relative_to(workspace).parts]


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data.strip()


def _page_problems(workspace: Path) -> list[str]:
    page = workspace / "index.html"
    if not page.is_file() or page.stat().st_size == 0:
        return ["create index.html: the page that the preview serves"]
    parser = _PageParser()
    parser.feed(page.read_text(errors="replace"))
    problems = []
    if not {"html", "body"} <= parser.tags:
        problems.append("index.html must be a complete HTML document (<html> and <body>)")
    if not parser.title:
        problems.append("index.html needs a non-empty <title>")
    if "h1" not in parser.tags:
        problems.append("index.html needs a main heading (<h1>)")
    return problems


def validate_completion(
    workspace: Path, criteria: list[str], task_type: str, summary: str, gates: list[Gate] | None = None
) -> Verdict:
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
    for gate in registered_gates() if gates is None else gates:
        result = gate.run(workspace, None)
        verdict.checks.append(
            {
                "check": f"gate:{result.gate}",
                "passed": result.passed,
                "score": result.score,
                "findings": result.findings[:20],
            }
        )
        if not result.passed:
            verdict.required_actions.append(f"fix the {result.gate} gate findings: {result.findings[:5]}")
    verdict.approved = not verdict.required_actions
    return verdict
