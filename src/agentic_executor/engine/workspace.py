"""Make a session's workspace: ``create_workspace``, a git repository the agent works in.

Invariant: ``root/<session_id>`` exists, is a git repository with a local identity and at least
one commit (so a checkpoint can always diff against ``HEAD``), and calling again changes nothing.
The host's git configuration never leaks in (no global or system config is read) and hooks are
off, so git commands run by the engine on the workspace cannot run code the agent planted.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from agentic_executor.errors import BadInput

GIT_USER_NAME = "agentic-executor"
GIT_USER_EMAIL = "agent@agentic-executor.invalid"
_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def create_workspace(root: Path, session_id: str) -> Path:
    """The absolute path of ``root/<session_id>``, created and initialised on first call."""
    workspace = workspace_path(root, session_id)
    workspace.mkdir(parents=True, exist_ok=True)
    if not (workspace / ".git").is_dir():
        git(workspace, "init", "-q", "--initial-branch=main")
    git(workspace, "config", "user.name", GIT_USER_NAME)
    git(workspace, "config", "user.email", GIT_USER_EMAIL)
    git(workspace, "config", "core.hooksPath", "/dev/null")
    git(workspace, "config", "commit.gpgSign", "false")
    has_head = git(workspace, "rev-parse", "--verify", "--quiet", "HEAD", check=False).returncode == 0
    if not has_head:
        git(workspace, "commit", "-q", "--allow-empty", "--no-verify", "-m", "workspace created")
    return workspace


def workspace_path(root: Path, session_id: str) -> Path:
    """The absolute path of ``root/<session_id>``; ``BadInput`` for an id that is not a plain name."""
    if not isinstance(session_id, str) or not _SESSION_ID.fullmatch(session_id) or ".." in session_id:
        raise BadInput(
            f"session id {session_id!r} cannot name a workspace directory: use letters, digits, '.', '_', '-'",
            details={"field": "session_id"},
        )
    return Path(root).resolve() / session_id


def reopen_workspace(root: Path, session_id: str) -> list[str]:
    """At the start of a run, by the session's one owner: remove the locks a killed git command
    left, then create the repository or complete a half-made one. Returns the removed locks."""
    locks = clear_stale_locks(workspace_path(root, session_id))
    create_workspace(root, session_id)
    return locks


def clear_stale_locks(workspace: Path) -> list[str]:
    """Remove the ``*.lock`` files a git process killed mid-command leaves in ``workspace/.git``.

    Only for the session's one owner at the start of a run (``reopen_workspace``): no other git process can be
    running on this workspace then, and every git command would otherwise fail on the lock.
    Returns the removed paths, relative to ``.git``.
    """
    dot_git = workspace / ".git"
    if dot_git.is_symlink() or not dot_git.is_dir():
        return []
    removed = []
    for directory, _subdirs, files in os.walk(dot_git):  # does not follow symlinked directories
        if Path(directory) == dot_git / "objects":
            _subdirs.clear()  # object files are never locks; skip the big tree
        for name in files:
            if name.endswith(".lock"):
                path = Path(directory) / name
                path.unlink(missing_ok=True)
                removed.append(str(path.relative_to(dot_git)))
    return sorted(removed)


def git(workspace: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workspace),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "LANG": "C.UTF-8",
    }
    # The agent controls the files; these keep git from running anything they configure.
    hardened = ["-c", "core.fsmonitor=false", "-c", "diff.ignoreSubmodules=all", "-c", "submodule.recurse=false"]
    result = subprocess.run(
        ["git", *hardened, "-C", str(workspace), *args], capture_output=True, text=True, env=env, check=False
    )
    if check and result.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {workspace}: {result.stderr.strip()}")
    return result
