"""Turn a path the agent wrote into a real path: ``resolve_inside``, the one gate of every file tool.

Invariant: every path resolves inside the workspace. The returned path is absolute, free of
symlinks (each link on the way was followed by hand and its target checked), not inside ``.git``,
and, when it exists, a directory or a regular file with a single hard link. Anything else raises a
``ToolError`` whose message is meant for the model.

Paths are interpreted the way the sandbox sees them: relative to the workspace root, and an absolute
``/workspace/...`` (the sandbox mount point) or ``<workspace>/...`` maps onto the workspace. The
same mapping applies to absolute symlink targets, so a link made by ``ln -s /workspace/a b`` inside
the sandbox resolves to the workspace file ``a``.

Race note: the check and the later open are two steps. Tool calls run one at a time and every
sandboxed process is dead when ``run_command`` returns, so nothing inside the workspace changes in
between; the file tools also open the final component with ``O_NOFOLLOW``.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from agentic_executor.sandbox.errors import ToolError

SANDBOX_ROOT = "/workspace"
"""Where the workspace is mounted inside the sandbox (and its cwd and ``$HOME``)."""

MAX_SYMLINK_HOPS = 40
"""Same bound as the kernel's ``ELOOP``."""

__all__ = ["SANDBOX_ROOT", "ToolError", "resolve_inside"]


def resolve_inside(workspace: Path, user_path: str, *, must_exist: bool = False) -> Path:
    """The real, absolute path of ``user_path`` inside ``workspace``, or a ``ToolError``.

    ``must_exist`` adds "no such file or directory" to the refusals; without it a missing final
    path (and missing parent directories) is fine, as for a file about to be written.
    """
    root = Path(workspace).resolve(strict=True)
    if not isinstance(user_path, str):
        raise ToolError(f"path must be a string, got {type(user_path).__name__}")
    if user_path == "":
        raise ToolError('path is empty; use "." for the workspace root')
    if "\x00" in user_path:
        raise ToolError("path contains a NUL byte")

    if user_path.startswith("/"):
        relative = _strip_root(user_path, root, Path(workspace))
        if relative is None:
            raise ToolError(
                f"absolute path outside the workspace: {user_path} "
                f"(use a path relative to the workspace root, or {SANDBOX_ROOT}/...)"
            )
    else:
        relative = user_path

    resolved = _walk(root, Path(workspace), relative, user_path)
    if any(part.lower() == ".git" for part in resolved.relative_to(root).parts):
        raise ToolError(f"paths inside .git/ are off limits: {user_path}")

    try:
        st = os.lstat(resolved)
    except FileNotFoundError:
        if must_exist:
            raise ToolError(f"no such file or directory: {user_path}") from None
        return resolved
    except OSError as exc:
        raise ToolError(f"cannot access {user_path}: {exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        return resolved
    if not stat.S_ISREG(st.st_mode):
        raise ToolError(f"not a regular file or directory: {user_path} (devices, FIFOs and sockets are off limits)")
    if st.st_nlink > 1:
        raise ToolError(
            f"{user_path} has {st.st_nlink} hard links and could alias a file outside the workspace; "
            "refusing it (copy it to a new file instead)"
        )
    return resolved


def _strip_root(absolute: str, root: Path, given: Path) -> str | None:
    """``absolute`` relative to the workspace (under any of its names), or None when outside."""
    for prefix in (SANDBOX_ROOT, str(root), str(given)):
        prefix = prefix.rstrip("/")
        if not prefix.startswith("/"):
            continue
        if absolute == prefix:
            return "."
        if absolute.startswith(prefix + "/"):
            return absolute[len(prefix) + 1 :] or "."
    return None


def _walk(root: Path, given: Path, relative: str, shown: str) -> Path:
    """Follow ``relative`` from ``root`` one component at a time, like the kernel would.

    ``..`` climbs the real parent of the directory reached so far (never above ``root``); each
    symlink is read and its target walked in turn, so a link anywhere in the chain that leads
    outside is refused even if a later step would come back in.
    """
    pending = list(reversed(relative.split("/")))
    current = root
    hops = 0
    while pending:
        part = pending.pop()
        if part in ("", "."):
            continue
        if part == "..":
            if current == root:
                raise ToolError(f"path escapes the workspace: {shown}")
            current = current.parent
            continue
        candidate = current / part
        try:
            st = os.lstat(candidate)
        except FileNotFoundError:
            current = candidate  # the rest cannot exist either; nothing below is a symlink
            continue
        except OSError as exc:
            if exc.errno == errno.ENOTDIR:
                raise ToolError(f"not a directory: {_shown_rel(current, root)} (in {shown})") from None
            raise ToolError(f"cannot access {shown}: {exc.strerror}") from None
        if stat.S_ISLNK(st.st_mode):
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise ToolError(f"too many levels of symbolic links: {shown}")
            target = os.readlink(candidate)
            if target.startswith("/"):
                inside = _strip_root(target, root, given)
                if inside is None:
                    raise ToolError(
                        f"path escapes the workspace through a symlink: {shown} "
                        f"({_shown_rel(candidate, root)} -> {target})"
                    )
                current = root
                target = inside
            pending.extend(reversed(target.split("/")))
            continue
        if not stat.S_ISDIR(st.st_mode) and any(p not in ("", ".") for p in pending):
            raise ToolError(f"not a directory: {_shown_rel(candidate, root)} (in {shown})")
        current = candidate
    return current


def _shown_rel(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path != root else "."
