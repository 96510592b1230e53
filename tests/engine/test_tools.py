"""The agent's tools on a real workspace: each tool's happy path and the errors the model gets back."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from agentic_executor.engine.tools import (
    LIST_CAP_ENTRIES,
    READ_CAP_BYTES,
    TOOL_SPECS,
    TOOLS,
    ToolOutcome,
    execute_tool,
)
from agentic_executor.engine.workspace import create_workspace
from agentic_executor.errors import BadInput
from agentic_executor.sandbox.runner import Limits, bwrap_available

FAST = Limits(wall_time_s=10)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    workspace = create_workspace(tmp_path / "workspaces", "session-1")
    (workspace / "src").mkdir()
    (workspace / "src" / "app.py").write_text("def main():\n    return 1\n")
    return workspace


def call(ws: Path, name: str, **tool_input: object) -> ToolOutcome:
    return execute_tool(ws, name, tool_input, limits=FAST)


def error(ws: Path, name: str, **tool_input: object) -> str:
    outcome = call(ws, name, **tool_input)
    assert outcome.is_error, outcome.content
    return outcome.content


# --- the specs -------------------------------------------------------------------------------


def test_specs_are_anthropic_tools_with_the_fixed_names_and_arguments() -> None:
    specs = {spec["name"]: spec for spec in TOOL_SPECS}
    expected = {
        "read_file": ["path"],
        "write_file": ["path", "content"],
        "edit_file": ["path", "old", "new"],
        "list_files": ["path"],
        "run_command": ["command"],
        "complete_task": ["summary"],
    }
    assert {name: spec["input_schema"]["required"] for name, spec in specs.items()} == expected
    for spec in TOOL_SPECS:
        assert set(spec) == {"name", "description", "input_schema"}
        assert 20 < len(spec["description"]) < 400
        schema = spec["input_schema"]
        assert schema["type"] == "object" and set(schema["properties"]) == set(schema["required"])
        assert all(prop["type"] == "string" and prop["description"] for prop in schema["properties"].values())
    json.dumps(TOOL_SPECS)
    assert set(TOOLS) == set(expected)


# --- input validation ------------------------------------------------------------------------


def test_unknown_tool(ws: Path) -> None:
    assert "unknown tool 'delete_everything'" in error(ws, "delete_everything", path="x")


def test_missing_argument(ws: Path) -> None:
    assert error(ws, "write_file", path="a.txt") == "write_file: missing required argument(s): content"


def test_wrong_type(ws: Path) -> None:
    assert "argument 'path' must be a string, got int" in error(ws, "read_file", path=3)
    assert "argument 'content' must be a string, got NoneType" in error(ws, "write_file", path="a", content=None)


def test_unexpected_argument(ws: Path) -> None:
    assert "unexpected argument(s): offset" in error(ws, "read_file", path="src/app.py", offset=10)


def test_arguments_not_an_object(ws: Path) -> None:
    outcome = execute_tool(ws, "read_file", ["src/app.py"], limits=FAST)  # type: ignore[arg-type]
    assert outcome.is_error and "must be a JSON object" in outcome.content


# --- read_file -------------------------------------------------------------------------------


def test_read_file(ws: Path) -> None:
    outcome = call(ws, "read_file", path="src/app.py")
    assert outcome == ToolOutcome("def main():\n    return 1\n")
    assert call(ws, "read_file", path="/workspace/src/app.py").content == outcome.content


def test_read_file_errors(ws: Path, tmp_path: Path) -> None:
    (ws / "blob.bin").write_bytes(b"\x7fELF\x00\x01\x02")
    (tmp_path / "secret").write_text("s3cret")
    (ws / "leak").symlink_to(tmp_path / "secret")
    assert "no such file or directory: nope.py" in error(ws, "read_file", path="nope.py")
    assert "src is a directory; use list_files" in error(ws, "read_file", path="src")
    assert "blob.bin is a binary file (7 bytes)" in error(ws, "read_file", path="blob.bin")
    assert "path escapes the workspace: ../secret" in error(ws, "read_file", path="../secret")
    assert "s3cret" not in error(ws, "read_file", path="leak")
    assert "paths inside .git/ are off limits" in error(ws, "read_file", path=".git/config")


def test_read_file_cuts_big_files_and_says_so(ws: Path) -> None:
    (ws / "big.txt").write_text("x" * (READ_CAP_BYTES + 1000))
    (ws / "empty.txt").write_text("")
    content = call(ws, "read_file", path="big.txt").content
    assert content.startswith("x" * 1000)
    assert content.endswith(
        f"[... cut: showed the first {READ_CAP_BYTES} of {READ_CAP_BYTES + 1000} bytes of big.txt ...]"
    )
    assert call(ws, "read_file", path="empty.txt").content == "(empty.txt is empty)"


# --- write_file ------------------------------------------------------------------------------


def test_write_file_creates_parents_and_overwrites(ws: Path) -> None:
    assert call(ws, "write_file", path="pkg/sub/mod.py", content="x = 1\n").content == (
        "created pkg/sub/mod.py (6 bytes)"
    )
    assert (ws / "pkg" / "sub" / "mod.py").read_text() == "x = 1\n"
    assert call(ws, "write_file", path="pkg/sub/mod.py", content="é").content == "overwrote pkg/sub/mod.py (2 bytes)"
    assert (ws / "pkg" / "sub" / "mod.py").read_text() == "é"


def test_write_file_keeps_the_file_mode(ws: Path) -> None:
    script = ws / "run.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    call(ws, "write_file", path="run.sh", content="#!/bin/sh\necho hi\n")
    assert script.stat().st_mode & 0o777 == 0o755


def test_write_file_never_writes_outside(ws: Path, tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("original")
    (ws / "src" / "out").symlink_to(tmp_path)
    (ws / "victim_link").symlink_to(target)
    assert "path escapes the workspace" in error(ws, "write_file", path="../victim.txt", content="pwned")
    assert "symlink" in error(ws, "write_file", path="src/out/victim.txt", content="pwned")
    assert "symlink" in error(ws, "write_file", path="victim_link", content="pwned")
    assert "absolute path outside" in error(ws, "write_file", path=str(target), content="pwned")
    assert ".git/ are off limits" in error(ws, "write_file", path=".git/hooks/post-commit", content="pwned")
    assert "is a directory" in error(ws, "write_file", path="src", content="x")
    assert target.read_text() == "original"
    assert not (ws / ".git" / "hooks" / "post-commit").exists()


def test_write_file_refuses_hard_links(ws: Path, tmp_path: Path) -> None:
    target = tmp_path / "victim.txt"
    target.write_text("original")
    os.link(target, ws / "alias.txt")
    assert "hard links" in error(ws, "write_file", path="alias.txt", content="pwned")
    assert target.read_text() == "original"


# --- edit_file -------------------------------------------------------------------------------


def test_edit_file(ws: Path) -> None:
    outcome = call(ws, "edit_file", path="src/app.py", old="    return 1\n", new="    x = 2\n    return x\n")
    assert outcome.content == "edited src/app.py: replaced 1 occurrence (now lines 2-4)"
    assert (ws / "src" / "app.py").read_text() == "def main():\n    x = 2\n    return x\n"


def test_edit_file_errors(ws: Path) -> None:
    (ws / "dup.py").write_text("a = 1\na = 1\na = 1\n")
    assert "`old` occurs 3 times in dup.py" in error(ws, "edit_file", path="dup.py", old="a = 1", new="a = 2")
    assert "`old` does not occur in src/app.py" in error(ws, "edit_file", path="src/app.py", old="nope", new="x")
    assert "`old` is empty" in error(ws, "edit_file", path="src/app.py", old="", new="x")
    assert "identical" in error(ws, "edit_file", path="src/app.py", old="main", new="main")
    assert "no such file or directory" in error(ws, "edit_file", path="missing.py", old="a", new="b")
    assert (ws / "dup.py").read_text() == "a = 1\na = 1\na = 1\n"


# --- list_files ------------------------------------------------------------------------------


def test_list_files(ws: Path) -> None:
    (ws / "src" / "deep").mkdir()
    (ws / "src" / "deep" / "x.txt").write_text("abc")
    (ws / "README.md").write_text("hi\n")
    (ws / "link").symlink_to("src/app.py")
    content = call(ws, "list_files", path=".").content
    assert content.splitlines() == [
        "README.md  (3 bytes)",
        "link -> src/app.py",
        "src/",
        "src/app.py  (25 bytes)",
        "src/deep/",
        "src/deep/x.txt  (3 bytes)",
    ]
    assert call(ws, "list_files", path="src/deep").content == "src/deep/x.txt  (3 bytes)"
    assert call(ws, "list_files", path="src/app.py").content == "src/app.py (25 bytes) is a file, not a directory"


def test_list_files_caps_entries(ws: Path) -> None:
    many = ws / "many"
    many.mkdir()
    for i in range(LIST_CAP_ENTRIES + 50):
        (many / f"f{i:04}.txt").write_text("")
    lines = call(ws, "list_files", path="many").content.splitlines()
    assert len(lines) == LIST_CAP_ENTRIES + 1
    assert lines[-1] == "[... 50 more entries not shown; list a subdirectory to see them ...]"


def test_list_files_errors(ws: Path) -> None:
    assert "no such file or directory" in error(ws, "list_files", path="nope")
    assert "absolute path outside" in error(ws, "list_files", path="/etc")
    assert ".git/ are off limits" in error(ws, "list_files", path=".git")
    (ws / "empty").mkdir()
    assert call(ws, "list_files", path="empty").content == "empty/ is empty"


# --- run_command -----------------------------------------------------------------------------

needs_bwrap = pytest.mark.skipif(not bwrap_available(), reason="bwrap cannot sandbox here")


@needs_bwrap
def test_run_command(ws: Path) -> None:
    assert call(ws, "run_command", command="cat src/app.py | wc -l") == ToolOutcome("exit code 0\n2\n")
    failed = call(ws, "run_command", command="echo nope >&2; exit 3")
    assert failed == ToolOutcome("exit code 3\nnope\n")  # a failing command is a result, not a tool error


@needs_bwrap
def test_run_command_notes_timeout_and_truncation(ws: Path) -> None:
    slow = execute_tool(ws, "run_command", {"command": "sleep 30"}, limits=Limits(wall_time_s=0.5))
    assert slow.is_error and slow.content == "exit code 137\n[timed out after 0.5 s: the command was killed]"
    chatty = execute_tool(ws, "run_command", {"command": "seq 1 5000"}, limits=Limits(output_bytes=100))
    assert not chatty.is_error
    assert chatty.content.startswith("exit code 0\n1\n2\n") and chatty.content.endswith(
        "5000\n[output truncated: 23793 bytes omitted from the middle]"
    )


def test_run_command_errors(ws: Path) -> None:
    assert "`command` is empty" in error(ws, "run_command", command="  ")
    assert "NUL" in error(ws, "run_command", command="echo \x00")


# --- complete_task ---------------------------------------------------------------------------


def test_complete_task_records_a_claim_only(ws: Path) -> None:
    outcome = call(ws, "complete_task", summary="  Fixed the bug; pytest passes.  ")
    assert outcome.completion_claim == "Fixed the bug; pytest passes." and not outcome.is_error
    assert "`summary` is empty" in error(ws, "complete_task", summary=" ")


# --- the workspace ---------------------------------------------------------------------------


def git(ws: Path, *args: str) -> str:
    env = {"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
    return subprocess.run(["git", "-C", str(ws), *args], capture_output=True, text=True, env=env, check=True).stdout


def test_create_workspace_is_an_idempotent_git_repository(tmp_path: Path) -> None:
    first = create_workspace(tmp_path, "abc-123")
    assert first == tmp_path.resolve() / "abc-123"
    head = git(first, "rev-parse", "HEAD")
    (first / "keep.txt").write_text("work in progress")
    assert create_workspace(tmp_path, "abc-123") == first
    assert git(first, "rev-parse", "HEAD") == head  # no second commit, nothing lost
    assert (first / "keep.txt").read_text() == "work in progress"
    assert git(first, "config", "user.email").strip() == "agent@agentic-executor.invalid"
    assert git(first, "log", "--format=%s").strip() == "workspace created"


@pytest.mark.parametrize("session_id", ["", "..", "../x", "a/b", ".hidden", "x" * 200])
def test_create_workspace_rejects_unsafe_session_ids(tmp_path: Path, session_id: str) -> None:
    with pytest.raises(BadInput, match="cannot name a workspace directory"):
        create_workspace(tmp_path, session_id)
