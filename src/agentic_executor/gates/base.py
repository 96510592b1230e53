"""What every gate shares: the ``Gate`` protocol, a ``Finding``, a ``GateResult`` and the ``GateContext``.

A gate is anything with a ``name`` and ``run(ctx) -> GateResult``. The context carries the
session's workspace, the preview URL it is served at (always set: the runner serves the workspace
on loopback when the session has none), the site's files, this gate's options from the gates
config, the directory where reports are kept, and the tools the gates share (one Chromium, the
Lighthouse runs). A gate whose tool is missing returns ``GateResult.unavailable(...)``; the runner
decides, from the task type, whether that fails the claim (by default it does).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import quote

if TYPE_CHECKING:
    from agentic_executor.gates.site import Site
    from agentic_executor.gates.tools import SharedTools

SEVERITIES = ("low", "medium", "high")


def page_url(preview_url: str, page: str) -> str:
    """The URL of a site-relative page path under the preview (``preview_url`` ends in ``/``)."""
    return preview_url + quote(page)


FINDINGS_KEPT = 100
"""Findings stored per gate result (events stay small); ``findings_total`` keeps the real count."""


@dataclass(frozen=True)
class Finding:
    """One problem a gate found: which rule, where, what, and how to fix it."""

    rule: str
    location: str
    message: str
    fix: str
    severity: str = "high"

    def to_dict(self) -> dict[str, str]:
        return {
            "rule": self.rule,
            "location": self.location,
            "message": self.message,
            "fix": self.fix,
            "severity": self.severity,
        }


@dataclass
class GateResult:
    gate: str
    passed: bool
    score: float | None = None
    findings: list[Finding] = field(default_factory=list)
    duration_s: float = 0.0
    unavailable: str | None = None
    """Why the gate's tool could not run (then ``passed`` is False unless the task type allows it)."""
    error: str | None = None
    """The gate crashed or timed out: always a failure, whatever the task type says."""
    reports: list[str] = field(default_factory=list)
    """Files kept with the session (e.g. Lighthouse JSON reports)."""
    notes: list[str] = field(default_factory=list)

    @classmethod
    def missing_tool(cls, gate: str, why: str) -> GateResult:
        return cls(gate=gate, passed=False, unavailable=why)

    def to_dict(self, limit: int = FINDINGS_KEPT) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "passed": self.passed,
            "score": self.score,
            "findings": [f.to_dict() for f in self.findings[:limit]],
            "findings_total": len(self.findings),
            "duration_s": round(self.duration_s, 3),
            "unavailable": self.unavailable,
            "error": self.error,
            "reports": self.reports,
            "notes": self.notes,
        }


@dataclass
class GateContext:
    workspace: Path
    preview_url: str
    """Where the site is served, ending in ``/``; a page's URL is ``preview_url + page``."""
    site: Site
    tools: SharedTools
    options: Mapping[str, Any] = field(default_factory=dict)
    """This gate's options: the gates config's ``[gates.NAME]`` merged with the task type's."""
    report_dir: Path | None = None

    def url(self, page: str) -> str:
        return page_url(self.preview_url, page)

    def option(self, key: str, default: Any) -> Any:
        return self.options.get(key, default)


@runtime_checkable
class Gate(Protocol):
    name: str

    def run(self, ctx: GateContext) -> GateResult: ...
