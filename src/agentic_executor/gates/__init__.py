"""Quality gates run by code before a completion is approved; one file per gate.

    canon.py          design rules from a rules file (HTML + CSS parsed)      canon.toml
    accessibility.py  axe-core (WCAG 2 A/AA) in Chromium + Lighthouse score
    performance.py    Lighthouse performance score
    security.py       bandit, detect-secrets, HTML/JS rules (webscan.py)

A gate is anything with a ``name`` and ``run(ctx: GateContext) -> GateResult`` (see ``base``).
Register one with ``register_gate``, or ship it in a package under the ``agentic_executor.gates``
entry-point group; the gates config (``config``) picks which gates each task type runs, and
``runner.run_gates`` runs them. The agent cannot reach this registry or the config: nothing it
writes in its workspace changes which gates run or how.
"""

from __future__ import annotations

import logging
from importlib.metadata import entry_points

from agentic_executor.gates.accessibility import AccessibilityGate
from agentic_executor.gates.base import Finding, Gate, GateContext, GateResult
from agentic_executor.gates.canon import CanonGate
from agentic_executor.gates.performance import PerformanceGate
from agentic_executor.gates.security import SecurityGate

__all__ = ["Finding", "Gate", "GateContext", "GateResult", "get_gate", "register_gate", "registered_gates"]

ENTRY_POINT_GROUP = "agentic_executor.gates"
log = logging.getLogger(__name__)

_GATES: dict[str, Gate] = {}
_discovered = False


def register_gate(gate: Gate) -> None:
    _GATES[gate.name] = gate


def registered_gates() -> list[Gate]:
    _discover()
    return list(_GATES.values())


def get_gate(name: str) -> Gate | None:
    _discover()
    return _GATES.get(name)


def _discover() -> None:
    """Register the gates other packages ship (entry point → a gate object or a class to call)."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            loaded = point.load()
            register_gate(loaded() if isinstance(loaded, type) else loaded)
        except Exception:  # a broken plugin must not take the built-in gates down with it
            log.exception("could not load gate %r from %s", point.name, point.value)


for _gate in (CanonGate(), AccessibilityGate(), PerformanceGate(), SecurityGate()):
    register_gate(_gate)
