"""The ``agx`` command as a user runs it: real processes, real exit codes, the fake model server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from agentic_executor.testing import FakeModelServer

AGX = [sys.executable, "-m", "agentic_executor"]


def agx(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*AGX, *args], capture_output=True, text=True, timeout=timeout, env=full_env)


def _session_count(home: Path) -> int:
    db = home / "agx.db"
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from agentic_sessions").fetchone()[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "build it", "--budget", "0"], "budget must be a positive"),
        (["run", "build it", "--budget", "-3"], "budget must be a positive"),
        (["run", "   ", "--budget", "1"], "prompt is empty"),
        (["run", "build it", "--budget", "1", "--model", "claude-sonnet-4-6-turbo"], "prices.toml"),
    ],
)
def test_bad_input_is_one_clear_line_exit_2_and_nothing_written(args: list[str], message: str, agx_home: Path) -> None:
    result = agx(*args, env={"ANTHROPIC_API_KEY": "test", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) <= 3
    assert _session_count(agx_home) == 0


def test_missing_api_key_names_the_fix(agx_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "ANTHROPIC_API_KEY"}
    result = subprocess.run([*AGX, "run", "x", "--budget", "1"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2 and "ANTHROPIC_API_KEY" in result.stderr


def test_run_json_prints_the_seed_session_shape(agx_home: Path) -> None:
    with FakeModelServer(scenario="builder") as server:
        result = agx(
            "run",
            "Build a page for a fitness studio",
            "--budget",
            "2",
            "--type",
            "template-generation",
            "--criteria",
            "Homepage renders with studio name",
            "--json",
            env={"ANTHROPIC_API_KEY": "test", "ANTHROPIC_BASE_URL": server.base_url},
        )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)  # exactly one JSON object
    assert set(report) == {"session", "budget", "preview", "iterations", "events"}
    assert {"id", "status", "iteration", "workspace"} <= set(report["session"])
    assert set(report["budget"]) == {"allocated", "consumed", "remaining", "percentUsed", "exhausted"}
    assert report["session"]["status"] == "awaiting_review"
    status = agx("status", report["session"]["id"], "--json")
    assert json.loads(status.stdout)["session"] == report["session"]
    listing = agx("sessions")
    assert report["session"]["id"] in listing.stdout


def test_demo_runs_on_the_simulated_model_and_spender_exits_3(agx_home: Path) -> None:
    demo = agx("demo")
    assert demo.returncode == 0, demo.stderr
    assert "Simulated model" in demo.stderr and "awaiting_review" in demo.stdout
    spent = agx("demo", "--scenario", "spender", "--budget", "0.3", "--json")
    assert spent.returncode == 3
    assert json.loads(spent.stdout)["budget"]["exhausted"] is True


def test_unknown_session_is_a_clear_error(agx_home: Path) -> None:
    result = agx("status", "agt_nope")
    assert result.returncode == 2 and "no session 'agt_nope'" in result.stderr


def test_ctrl_c_pauses_cleanly_keeping_the_paid_call(agx_home: Path) -> None:
    import signal
    import time

    with FakeModelServer(scenario="spender", stream_delay=0.01) as server:
        env = {
            **os.environ,
            "ANTHROPIC_API_KEY": "test",
            "ANTHROPIC_BASE_URL": server.base_url,
            "AGX_MAX_TOKENS": "400",
        }
        proc = subprocess.Popen(
            [*AGX, "run", "spend slowly", "--budget", "20", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with sqlite3.connect(agx_home / "agx.db") as conn:
                    row = conn.execute("select iteration from agentic_sessions").fetchone()
            except sqlite3.Error:  # not created or not migrated yet
                row = None
            if row and row[0] >= 2:
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 5, err
    report = json.loads(out)
    assert report["session"]["status"] == "paused"
    with sqlite3.connect(agx_home / "agx.db") as conn:
        costs = conn.execute("select count(*), sum(cost_micros) from agentic_iterations").fetchone()
        consumed = conn.execute("select consumed_micros from budget_pools").fetchone()[0]
    assert costs[0] == report["session"]["iteration"] and costs[1] == consumed  # the paid call was kept
