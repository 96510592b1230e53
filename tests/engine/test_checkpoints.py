"""Checkpoints: a workspace scrambled by a crash, or missing on another machine, comes back exactly."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from agentic_executor.app import App
from agentic_executor.engine import checkpoints
from agentic_executor.engine.loop import run_session
from agentic_executor.engine.submit import submit_task
from agentic_executor.sandbox.runner import Limits
from agentic_executor.store import queries


def _files(workspace: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(workspace)): p.read_bytes()
        for p in sorted(workspace.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(workspace).parts
    }


@pytest.mark.parametrize("checkpoint_every", [1, 2, 0])
def test_restore_rebuilds_the_last_committed_workspace(app: App, provider_for: Any, checkpoint_every: int) -> None:
    app.settings.checkpoint_every = checkpoint_every
    session = submit_task(app, "Build a fitness studio page (injector)", 5.0, task_type="template-generation")
    assert run_session(app, session.id, provider_for("injector")) == "awaiting_review"
    with app.db.transaction() as conn:
        done = queries.get_session(conn, session.id)
        events = [e["type"] for e in queries.list_events(conn, session.id)]
    workspace = Path(done.workspace or "")
    expected = _files(workspace)
    assert "index.html" in expected and "notes.md" in expected
    assert events.count("checkpoint") == (done.iteration // checkpoint_every if checkpoint_every else 0)

    (workspace / "index.html").write_text("half-written by a killed tool call")
    (workspace / "junk.txt").write_text("left by a crash")
    with app.db.transaction() as conn:
        checkpoints.restore(conn, session.id, workspace, Limits())
    assert _files(workspace) == expected

    if checkpoint_every:  # another machine: no workspace at all, only the database
        shutil.rmtree(workspace)
        with app.db.transaction() as conn:
            info = checkpoints.restore(conn, session.id, workspace, Limits())
        assert _files(workspace) == expected
        assert info["checkpoint_iteration"] > 0


def test_restore_completes_a_workspace_killed_while_it_was_being_created(app: App, tmp_path: Path) -> None:
    import subprocess

    session = submit_task(app, "Build something", 1.0, task_type="task")
    workspace = app.settings.home / "workspaces" / session.id
    workspace.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)  # killed before the first commit
    (workspace / "half.txt").write_text("half-written")
    with app.db.transaction() as conn:
        checkpoints.restore(conn, session.id, workspace, Limits())
    assert _files(workspace) == {}


def test_restore_clears_the_locks_of_a_git_command_killed_mid_way(app: App, provider_for: Any) -> None:
    # A SIGKILL during `git commit` or `git reset` leaves index.lock (and maybe ref locks) behind;
    # every later git command then refuses to run ("Another git process seems to be running").
    app.settings.checkpoint_every = 1
    session = submit_task(app, "Build a fitness studio page (injector)", 5.0, task_type="template-generation")
    assert run_session(app, session.id, provider_for("injector")) == "awaiting_review"
    with app.db.read() as conn:
        workspace = Path(queries.get_session(conn, session.id).workspace or "")
    expected = _files(workspace)
    (workspace / ".git" / "index.lock").write_text("")
    (workspace / ".git" / "refs" / "heads" / "main.lock").write_text("")
    (workspace / "index.html").write_text("half-written by a killed tool call")
    with app.db.transaction() as conn:
        info = checkpoints.restore(conn, session.id, workspace, Limits())
    assert _files(workspace) == expected
    assert info["stale_locks_removed"] == ["index.lock", "refs/heads/main.lock"]
    assert not list((workspace / ".git").rglob("*.lock"))


def test_a_run_killed_while_making_the_workspace_leaves_nothing_the_next_run_trips_on(
    app: App, provider_for: Any
) -> None:
    # Killed inside create_workspace, before the run committed anything: the session is still
    # queued, so the next run is not a crash recovery, yet the repository has no identity and a lock.
    import subprocess

    app.settings.checkpoint_every = 1
    session = submit_task(app, "Build a fitness studio page (injector)", 5.0, task_type="template-generation")
    workspace = app.settings.home / "workspaces" / session.id
    workspace.mkdir(parents=True)
    subprocess.run(
        ["git", "init", "-q", "--initial-branch=main", str(workspace)],
        check=True,
        env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"},
    )
    (workspace / ".git" / "config.lock").write_text("[user]\n\tna")
    assert run_session(app, session.id, provider_for("injector")) == "awaiting_review"
    with app.db.read() as conn:
        assert [e for e in queries.list_events(conn, session.id) if e["type"] == "checkpoint"]
