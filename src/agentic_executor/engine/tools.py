"""The agent's tools: their specs for the model (``TOOL_SPECS``) and ``execute_tool`` to run a call.

Invariant: a tool call never raises for anything the model can get wrong (unknown tool, missing or
mistyped argument, bad path, missing file, ambiguous edit, failing command): it returns a
``ToolOutcome`` with ``is_error`` and a message that says what to do instead. Every path goes
through ``resolve_inside``, so every file touched is inside the workspace; every command goes
through the sandbox runner. ``complete_task`` only records a claim; the engine verifies it.

Adding a tool is one handler decorated with ``@tool(name, description, arg=schema, ...)``.
"""

from __future__ import annotations

import logging
import os
import stat
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentic_executor.sandbox.errors import ToolError
from agentic_executor.sandbox.paths import resolve_inside
from agentic_executor.sandbox.runner import DEFAULT_LIMITS, Limits
from agentic_executor.sandbox.runner import run_command as run_sandboxed

log = logging.getLogger(__name__)

READ_CAP_BYTES = 256 * 1024
EDIT_CAP_BYTES = 8 * 1024 * 1024
LIST_CAP_ENTRIES = 500
LIST_SCAN_LIMIT = 20_000
_BINARY_SNIFF_BYTES = 8192


@dataclass
class ToolOutcome:
    content: str
    is_error: bool = False
    completion_claim: str | None = None
    """Set by ``complete_task`` to the agent's summary; the engine decides whether it holds."""


Handler = Callable[[Path, dict[str, Any], Limits], "str | ToolOutcome"]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    params: dict[str, dict[str, Any]]
    """JSON-schema property per argument; all of them are required."""
    handler: Handler

    @property
    def spec(self) -> dict[str, Any]:
        """The tool in the Anthropic Messages API format."""
        return {
            "name": self.name,
            "description": self.description,
            "input_schema": {
                "type": "object",
                "properties": self.params,
                "required": list(self.params),
                "additionalProperties": False,
            },
        }


TOOLS: dict[str, Tool] = {}


def tool(name: str, description: str, /, **params: dict[str, Any]) -> Callable[[Handler], Handler]:
    """Register the decorated handler as tool ``name`` taking the arguments ``params``."""

    def register(handler: Handler) -> Handler:
        if name in TOOLS:
            raise ValueError(f"tool {name!r} is registered twice")
        TOOLS[name] = Tool(name, description, params, handler)
        return handler

    return register


def execute_tool(
    workspace: Path, name: str, tool_input: dict[str, Any], *, limits: Limits = DEFAULT_LIMITS
) -> ToolOutcome:
    """Run one tool call of the model and describe the result for it (see the module doc)."""
    spec = TOOLS.get(name)
    if spec is None:
        return ToolOutcome(f"unknown tool {name!r}; the tools are: {', '.join(TOOLS)}", is_error=True)
    problem = _check_input(spec, tool_input)
    if problem is not None:
        return ToolOutcome(f"{name}: {problem}", is_error=True)
    try:
        result = spec.handler(Path(workspace).resolve(strict=True), tool_input, limits)
    except ToolError as exc:
        return ToolOutcome(f"{name}: {exc.message}", is_error=True)
    except OSError as exc:
        log.info("tool %s failed: %s", name, exc)
        return ToolOutcome(f"{name} failed: {exc.strerror or exc}", is_error=True)
    return result if isinstance(result, ToolOutcome) else ToolOutcome(result)


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _check_input(spec: Tool, tool_input: object) -> str | None:
    if not isinstance(tool_input, dict):
        return f"arguments must be a JSON object, got {type(tool_input).__name__}"
    missing = [arg for arg in spec.params if arg not in tool_input]
    if missing:
        return f"missing required argument(s): {', '.join(missing)}"
    unexpected = [arg for arg in tool_input if arg not in spec.params]
    if unexpected:
        return f"unexpected argument(s): {', '.join(map(str, unexpected))}; it takes {', '.join(spec.params)}"
    for arg, schema in spec.params.items():
        value, expected = tool_input[arg], schema.get("type", "string")
        is_bool = isinstance(value, bool)
        if not isinstance(value, _JSON_TYPES[expected]) or (is_bool and expected != "boolean"):
            return f"argument {arg!r} must be a {expected}, got {type(value).__name__}"
    return None


def _shown(workspace: Path, path: Path) -> str:
    """``path`` as the model should see it: relative to the (resolved) workspace root."""
    relative = path.relative_to(workspace)
    return str(relative) if relative.parts else "."


def _open_regular(path: Path, flags: int, shown: str) -> int:
    """Open without following a final symlink and refuse anything but a regular file."""
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise ToolError(f"not a regular file: {shown}")
    return fd


def _read_bytes(path: Path, shown: str, cap: int) -> tuple[bytes, int]:
    """Up to ``cap`` bytes of the file and its full size."""
    if path.is_dir():
        raise ToolError(f"{shown} is a directory; use list_files to see its contents")
    fd = _open_regular(path, os.O_RDONLY, shown)
    with os.fdopen(fd, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        return handle.read(cap), size


def _write_text(path: Path, shown: str, content: str) -> int:
    if path.is_dir():
        raise ToolError(f"{shown} is a directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8")
    fd = _open_regular(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, shown)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return len(data)


_PATH = {"type": "string", "description": "Path relative to the workspace root (/workspace in commands)."}


@tool(
    "read_file",
    f"Read a UTF-8 text file from the workspace. Files over {READ_CAP_BYTES // 1024} KiB are cut; "
    "read the rest with run_command (e.g. sed -n '2000,2400p' file).",
    path=_PATH,
)
def _read_file(workspace: Path, args: dict[str, Any], limits: Limits) -> str:
    path = resolve_inside(workspace, args["path"], must_exist=True)
    shown = _shown(workspace, path)
    data, size = _read_bytes(path, shown, READ_CAP_BYTES)
    if b"\x00" in data[:_BINARY_SNIFF_BYTES]:
        raise ToolError(f"{shown} is a binary file ({size} bytes); inspect it with run_command instead")
    if size == 0:
        return f"({shown} is empty)"
    text = data.decode("utf-8", errors="replace")
    if size > len(data):
        text += f"\n[... cut: showed the first {len(data)} of {size} bytes of {shown} ...]"
    return text


@tool(
    "write_file",
    "Create or overwrite a text file in the workspace with exactly `content`. Missing parent directories are created.",
    path=_PATH,
    content={"type": "string", "description": "The complete new file content."},
)
def _write_file(workspace: Path, args: dict[str, Any], limits: Limits) -> str:
    path = resolve_inside(workspace, args["path"])
    shown = _shown(workspace, path)
    existed = path.exists()
    written = _write_text(path, shown, args["content"])
    return f"{'overwrote' if existed else 'created'} {shown} ({written} bytes)"


@tool(
    "edit_file",
    "Replace one exact occurrence of `old` with `new` in a text file. `old` must match the file "
    "exactly (whitespace included) and occur exactly once; add surrounding lines to make it unique.",
    path=_PATH,
    old={"type": "string", "description": "The exact text to replace; must occur exactly once."},
    new={"type": "string", "description": "The replacement text (may be empty to delete)."},
)
def _edit_file(workspace: Path, args: dict[str, Any], limits: Limits) -> str:
    old, new = args["old"], args["new"]
    path = resolve_inside(workspace, args["path"], must_exist=True)
    shown = _shown(workspace, path)
    if old == "":
        raise ToolError("`old` is empty; to create or replace a whole file use write_file")
    if old == new:
        raise ToolError("`old` and `new` are identical; nothing to change")
    data, size = _read_bytes(path, shown, EDIT_CAP_BYTES)
    if size > len(data):
        raise ToolError(f"{shown} is too large to edit ({size} bytes); use run_command")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"{shown} is not UTF-8 text; edit it with run_command") from None
    count = text.count(old)
    if count == 0:
        raise ToolError(
            f"`old` does not occur in {shown}; read the file again and copy the text exactly, "
            "including whitespace and indentation"
        )
    if count > 1:
        raise ToolError(
            f"`old` occurs {count} times in {shown}; include more surrounding lines so it occurs exactly once"
        )
    start = text.index(old)
    first_line = text.count("\n", 0, start) + 1
    _write_text(path, shown, text[:start] + new + text[start + len(old) :])
    last_line = first_line + new.count("\n")
    return f"edited {shown}: replaced 1 occurrence (now lines {first_line}-{last_line})"


@tool(
    "list_files",
    f"List files and directories under a workspace path, recursively (.git is skipped), with sizes "
    f"in bytes. Shallow entries come first; at most {LIST_CAP_ENTRIES} are shown. Use '.' for the root.",
    path=_PATH,
)
def _list_files(workspace: Path, args: dict[str, Any], limits: Limits) -> str:
    path = resolve_inside(workspace, args["path"], must_exist=True)
    shown = _shown(workspace, path)
    if not path.is_dir():
        return f"{shown} ({path.stat().st_size} bytes) is a file, not a directory"
    lines: list[str] = []
    total = 0
    queue = deque([path])
    while queue and total < LIST_SCAN_LIMIT:  # breadth first: the cap cuts the deepest entries
        directory = queue.popleft()
        try:
            entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
        except OSError as exc:
            lines.append(f"{_shown(workspace, directory)}/ (unreadable: {exc.strerror})")
            continue
        for entry in entries:
            if entry.name == ".git":
                continue
            total += 1
            is_dir = entry.is_dir(follow_symlinks=False)
            if is_dir:
                queue.append(Path(entry.path))
            if len(lines) < LIST_CAP_ENTRIES:
                lines.append(_list_line(workspace, entry, is_dir))
    if not lines:
        return f"{shown}/ is empty"
    if total > len(lines):
        more = f"{total - len(lines)}{'+' if queue else ''}"
        lines.append(f"[... {more} more entries not shown; list a subdirectory to see them ...]")
    return "\n".join(lines)


def _list_line(workspace: Path, entry: os.DirEntry[str], is_dir: bool) -> str:
    rel = _shown(workspace, Path(entry.path))
    if entry.is_symlink():
        return f"{rel} -> {os.readlink(entry.path)}"
    if is_dir:
        return f"{rel}/"
    return f"{rel}  ({entry.stat(follow_symlinks=False).st_size} bytes)"


@tool(
    "run_command",
    "Run a bash command in the workspace (cwd /workspace) inside a sandbox with no network access. "
    "Output is stdout and stderr combined; long output keeps its start and end. Commands are killed "
    "when they run too long. .git is read-only: use git status/log/diff, do not commit.",
    command={"type": "string", "description": "The bash command line, e.g. 'python3 -m pytest -q'."},
)
def _run_command(workspace: Path, args: dict[str, Any], limits: Limits) -> ToolOutcome:
    command = args["command"]
    if not command.strip():
        raise ToolError("`command` is empty")
    result = run_sandboxed(workspace, command, limits=limits)
    notes = []
    if result.timed_out:
        notes.append(f"[timed out after {limits.wall_time_s:g} s: the command was killed]")
    if result.killed_for_output:
        notes.append(f"[killed after producing more than {limits.kill_output_bytes} bytes of output]")
    if result.truncated_bytes:
        notes.append(f"[output truncated: {result.truncated_bytes} bytes omitted from the middle]")
    content = f"exit code {result.exit_code}\n{result.output}"
    if notes:
        content = content.rstrip("\n") + "\n" + "\n".join(notes)
    return ToolOutcome(content, is_error=result.timed_out or result.killed_for_output)


@tool(
    "complete_task",
    "Call when the task is fully done (and verified, e.g. tests pass). Give a short summary of what "
    "was done and how it was checked. The claim is verified before the task is accepted.",
    summary={"type": "string", "description": "What was done and how it was verified."},
)
def _complete_task(workspace: Path, args: dict[str, Any], limits: Limits) -> ToolOutcome:
    summary = args["summary"].strip()
    if not summary:
        raise ToolError("`summary` is empty; say what was done and how it was verified")
    return ToolOutcome("completion claim recorded; it will be verified", completion_claim=summary)


TOOL_SPECS: list[dict[str, Any]] = [registered.spec for registered in TOOLS.values()]
