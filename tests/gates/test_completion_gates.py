"""The completion hook runs the task type's gates, and their findings become the required actions."""

from __future__ import annotations

import json
from pathlib import Path

from agentic_executor.gates import get_gate
from agentic_executor.hooks.completion import validate_completion

from .conftest import copy_site


def test_gate_findings_become_required_actions_and_results_are_kept(tmp_path: Path, agx_home: Path) -> None:
    workspace = copy_site("canon_fail", tmp_path)
    canon = get_gate("canon")
    assert canon is not None
    verdict = validate_completion(workspace, [], "template-generation", "built it", gates=[canon])
    assert not verdict.approved
    assert (
        "canon: canon/color at site.css:10:3: color: #b00020 is not grey — fix: use black, white or a grey "
        "(equal red, green and blue, e.g. #000, #fff, #767676)"
    ) in verdict.required_actions
    assert sum(a.startswith("canon: ") for a in verdict.required_actions) == 7
    [result] = verdict.gate_results
    assert result["gate"] == "canon" and result["passed"] is False and result["findings_total"] == 7
    assert {"rule", "location", "message", "fix", "severity"} == set(result["findings"][0])
    check = next(c for c in verdict.checks if c["check"] == "gate:canon")
    assert check == {
        "check": "gate:canon",
        "passed": False,
        "score": None,
        "findings": 7,
        "unavailable": None,
        "error": None,
    }
    [summary] = (agx_home / "reports" / workspace.name).glob("*/gates.json")  # beside the workspace, not in it
    assert json.loads(summary.read_text())[0]["findings_total"] == 7


def test_the_task_types_gates_come_from_the_gates_file_in_agx_home(tmp_path: Path, agx_home: Path) -> None:
    agx_home.mkdir(parents=True, exist_ok=True)
    (agx_home / "gates.toml").write_text('[task_types.brochure]\ngates = ["canon"]\n')
    workspace = copy_site("canon_fail", tmp_path)
    verdict = validate_completion(workspace, [], "brochure", "done")
    assert [r["gate"] for r in verdict.gate_results] == ["canon"]
    plain = validate_completion(copy_site("security_fail", tmp_path), [], "task", "done")
    assert [r["gate"] for r in plain.gate_results] == ["security"]  # a plain task: the static security scan
    assert not plain.approved and any(a.startswith("security: security/eval") for a in plain.required_actions)


def test_an_empty_workspace_is_rejected_without_running_gates(tmp_path: Path) -> None:
    verdict = validate_completion(tmp_path, [], "template-generation", "done")
    assert not verdict.approved and verdict.gate_results == []
    assert "the workspace is empty: do the work before claiming completion" in verdict.required_actions
