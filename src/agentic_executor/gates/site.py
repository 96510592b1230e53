"""The site a gate checks: the workspace's files (never ``.git``), its HTML pages, a content digest.

Symlinks are not followed: a link is listed as a file only when it resolves inside the workspace,
so a gate never reads a host file the agent pointed at.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

PAGE_SUFFIXES = (".html", ".htm")
SKIPPED_DIRS = frozenset({".git", "node_modules", "__pycache__"})
MAX_FILE_BYTES = 2_000_000
"""Larger files are listed but not read as text by the static gates."""


@dataclass
class Site:
    root: Path
    files: list[str] = field(default_factory=list)
    """Relative POSIX paths of regular files inside ``root``, sorted."""

    @classmethod
    def scan(cls, root: Path) -> Site:
        root = root.resolve()
        found: list[str] = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and not Path(dirpath, d).is_symlink())
            for name in filenames:
                path = Path(dirpath, name)
                if path.is_symlink() and not _inside(path, root):
                    continue
                if path.is_file():
                    found.append(path.relative_to(root).as_posix())
        return cls(root, sorted(found))

    @cached_property
    def pages(self) -> list[str]:
        """HTML pages, ``index.html`` first, then the rest sorted; none under hidden folders."""
        pages = [
            f
            for f in self.files
            if f.lower().endswith(PAGE_SUFFIXES) and not any(p.startswith(".") for p in f.split("/")[:-1])
        ]
        return sorted(pages, key=lambda p: (p != "index.html", p.count("/"), p))

    def with_suffix(self, *suffixes: str) -> list[str]:
        return [f for f in self.files if f.lower().endswith(suffixes)]

    def read_text(self, relative: str) -> str | None:
        """The file's text, or None when it is too large or not text."""
        path = self.root / relative
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            return None
        return data.decode("utf-8", errors="replace")

    @cached_property
    def digest(self) -> str:
        """sha256 over every file's path and bytes: two sites with one digest serve the same thing."""
        h = hashlib.sha256()
        for relative in self.files:
            h.update(relative.encode() + b"\0")
            h.update(hashlib.sha256((self.root / relative).read_bytes()).digest())
        return h.hexdigest()


def _inside(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
    except ValueError:
        return False
    return True
