"""``agx gates PATH`` as a user runs it: a real process, real exit codes, one line for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SITES

# The command as cli.py registers it (``app.command("gates")(gates_command)``), in its own process.
RUN = (
    "import typer; from agentic_executor.cli_gates import gates_command; "
    "app = typer.Typer(pretty_exceptions_enable=False, add_completion=False); "
    'app.command("gates")(gates_command); app.command("noop")(lambda: None); app()'
)


def agx_gates(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", RUN, "gates", *args], capture_output=True, text=True, timeout=300, env=dict(os.environ)
    )


def test_passing_folder_exits_0(agx_home: Path) -> None:
    result = agx_gates(str(SITES / "pass"), "--gate", "canon", "--gate", "security")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "canon" in result.stdout and "2 of 2 gates passed" in result.stdout


def test_failing_folder_exits_1_and_prints_each_finding_with_its_fix(agx_home: Path) -> None:
    result = agx_gates(str(SITES / "canon_fail"), "--gate", "canon")
    assert result.returncode == 1, result.stderr
    assert "canon/spacing-scale at site.css:14:3" in result.stdout
    assert "fix: use a step of the scale" in result.stdout and "0 of 1 gates passed" in result.stdout


def test_json_output_is_one_object(agx_home: Path, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    result = agx_gates(str(SITES / "canon_fail"), "--gate", "canon", "--json", "--reports", str(reports))
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["passed"] is False and report["reports"] == str(reports)
    assert [g["gate"] for g in report["gates"]] == ["canon"] and report["gates"][0]["findings_total"] == 7
    assert (reports / "gates.json").is_file()


def test_type_picks_the_task_types_gates(agx_home: Path) -> None:
    result = agx_gates(str(SITES / "security_fail"), "--type", "task", "--json")
    assert result.returncode == 1
    assert [g["gate"] for g in json.loads(result.stdout)["gates"]] == ["security"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent/site"], "/nonexistent/site does not exist"),
        ([str(SITES / "pass" / "index.html")], "is not a folder"),
        ([str(SITES / "pass"), "--gate", "speed"], "no gate named 'speed'; known gates: accessibility, canon"),
        ([str(SITES / "pass"), "--config", "/nonexistent/gates.toml"], "gates config /nonexistent/gates.toml does not"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str, agx_home: Path) -> None:
    result = agx_gates(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and result.stdout == ""
