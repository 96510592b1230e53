"""Keep the workspace a single git repository: ``disable_nested_repositories`` after every command.

Invariant: below the workspace root there is no ``.git`` (directory, file or symlink) when a
command returns. The engine runs git on the host over the workspace (checkpoints), and git reads
the configuration of a repository nested in it — its ``core.fsmonitor`` command, its filter
drivers — and runs them on the host, outside the sandbox, with the server's environment. The
agent can create such a repository with ``git init sub`` in a command (the file tools refuse any
path through ``.git``), so the runner renames each nested ``.git`` away; its files stay, inert.
"""

from __future__ import annotations

import os
from pathlib import Path

DISABLED = ".git-disabled"


def disable_nested_repositories(root: Path) -> list[str]:
    """Rename every ``.git`` below ``root`` (not ``root/.git``) to ``.git-disabled``; the renamed
    paths, relative to ``root``."""
    renamed: list[str] = []
    for directory, dirnames, filenames in os.walk(root):
        here = Path(directory)
        if here == root:
            dirnames[:] = [d for d in dirnames if d != ".git"]
            continue
        if ".git" in dirnames or ".git" in filenames:
            target = here / DISABLED
            suffix = 0
            while target.exists() or target.is_symlink():
                suffix += 1
                target = here / f"{DISABLED}-{suffix}"
            os.rename(here / ".git", target)
            renamed.append(str((here / ".git").relative_to(root)))
            dirnames[:] = [d for d in dirnames if d != ".git"]
    return renamed
