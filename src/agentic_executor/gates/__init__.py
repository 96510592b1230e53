"""Quality gates run by code before a completion is approved; one file per gate.

A gate is anything with a ``name`` and ``run(workspace, preview_url) -> GateResult``. Register
one with ``register_gate``; the completion hook runs every registered gate and approves only
when all pass. The agent cannot reach this registry: nothing it writes changes the gate list.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass
class GateResult:
    gate: str
    passed: bool
    score: float | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)


class Gate(Protocol):
    name: str

    def run(self, workspace: Path, preview_url: str | None) -> GateResult: ...


_GATES: dict[str, Gate] = {}


def register_gate(gate: Gate) -> None:
    _GATES[gate.name] = gate


def registered_gates() -> list[Gate]:
    return list(_GATES.values())
