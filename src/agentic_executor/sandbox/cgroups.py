"""A throwaway cgroup per sandboxed command: the only process limit that holds for root.

Invariant: when ``CommandCgroup.create`` returns a group, every process the command starts lives
in it (the child joins before it execs), so ``pids.max`` caps the number of tasks (threads count)
and the memory limit caps the whole tree; ``close`` kills whatever is left and removes the group.

Why not ``RLIMIT_NPROC``: the kernel never applies it to processes whose real uid is root outside
every user namespace, and bwrap started by root maps the sandbox user onto host uid 0. A pids
cgroup is counted by membership, whatever the uid.

Both layouts are handled: cgroup v1 (a ``pids`` and a ``memory`` hierarchy) and v2 (one unified
tree, where the ``pids`` controller must be enabled for our cgroup's children). The group is made
below the cgroup this process is in, so limits set by whoever runs the service still apply.
Creation is best effort: without a writable hierarchy (unprivileged, read-only /sys/fs/cgroup)
``create`` returns None and the caller falls back to rlimits.

A service killed mid-command (SIGKILL, OOM) never runs ``close``: bwrap's ``--die-with-parent``
kills the command, but its empty group stays. ``create`` sweeps such leftovers (``_sweep``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

_PREFIX = "agx-sandbox-"
STALE_AFTER_S = 60.0
"""An empty group of ours older than this is a leftover; a younger one may be a concurrent command's,
between its ``mkdir`` and its child joining (milliseconds)."""


@dataclass
class CommandCgroup:
    """One cgroup (v2) or one per controller (v1), made for one command and removed after it."""

    dirs: list[Path] = field(default_factory=list)
    controllers: set[str] = field(default_factory=set)

    @property
    def procs_files(self) -> list[str]:
        """The ``cgroup.procs`` files a child writes its pid to (plain strings for ``preexec_fn``)."""
        return [str(d / "cgroup.procs") for d in self.dirs]

    @classmethod
    def create(cls, *, max_pids: int, memory_bytes: int | None) -> CommandCgroup | None:
        """A fresh group limited to ``max_pids`` tasks (and ``memory_bytes``), or None if unavailable."""
        group = cls()
        name = _PREFIX + uuid.uuid4().hex[:16]
        try:
            unified = _v2_base()
            if unified is not None:
                _sweep(unified)
                group._make(unified / name)
                _write(unified / name / "pids.max", max_pids)
                group.controllers.add("pids")
                if memory_bytes is not None and (unified / name / "memory.max").exists():
                    _write(unified / name / "memory.max", memory_bytes)
                    _write_optional(unified / name / "memory.swap.max", 0)
                    group.controllers.add("memory")
                return group
            pids_base = _v1_base("pids")
            if pids_base is None:
                return None
            _sweep(pids_base)
            group._make(pids_base / name)
            _write(pids_base / name / "pids.max", max_pids)
            group.controllers.add("pids")
            memory_base = _v1_base("memory") if memory_bytes is not None else None
            if memory_base is not None and memory_bytes is not None:
                _sweep(memory_base)
                memory_dir = memory_base / name
                try:
                    group._make(memory_dir)
                    _write(memory_dir / "memory.limit_in_bytes", memory_bytes)
                    _write_optional(memory_dir / "memory.memsw.limit_in_bytes", memory_bytes)
                    group.controllers.add("memory")
                except OSError as exc:  # the pids limit alone still contains a fork bomb
                    log.debug("no memory cgroup for the sandbox: %s", exc)
                    if group.dirs[-1] == memory_dir:
                        group._remove(group.dirs.pop())
            return group
        except OSError as exc:
            log.debug("no pids cgroup for the sandbox: %s", exc)
            group.close()
            return None

    def pids(self) -> list[int]:
        found: set[int] = set()
        for procs in self.procs_files:
            with contextlib.suppress(OSError):
                found.update(int(line) for line in Path(procs).read_text().split())
        return sorted(found)

    def kill_all(self) -> None:
        """SIGKILL every process still in the group (``cgroup.kill`` on v2, one by one on v1)."""
        for directory in self.dirs:
            kill_file = directory / "cgroup.kill"
            if kill_file.exists():
                with contextlib.suppress(OSError):
                    _write(kill_file, 1)
        for _ in range(3):  # a fork racing with the kill can add a straggler; pids.max bounds it
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)

    def close(self) -> None:
        """Kill what is left and remove the group (retrying while the kernel reaps the dead)."""
        self.kill_all()
        while self.dirs:
            self._remove(self.dirs.pop())

    def _make(self, directory: Path) -> None:
        directory.mkdir()
        self.dirs.append(directory)

    @staticmethod
    def _remove(directory: Path) -> None:
        deadline = time.monotonic() + 2.0
        while True:
            try:
                directory.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as exc:  # EBUSY until the last member is reaped
                if time.monotonic() > deadline:
                    log.warning("could not remove sandbox cgroup %s: %s", directory, exc)
                    return
                time.sleep(0.01)


def _sweep(base: Path) -> None:
    """Remove the empty groups of ours under ``base`` older than ``STALE_AFTER_S`` (best effort)."""
    now = time.time()
    for group in base.glob(_PREFIX + "*"):
        with contextlib.suppress(OSError):  # EBUSY: processes are in it, so it is in use
            if now - group.stat().st_mtime > STALE_AFTER_S:
                group.rmdir()


def _own_cgroups() -> dict[str, str]:
    """Controller (or "" for v2) → this process's cgroup path, from /proc/self/cgroup."""
    result: dict[str, str] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for controller in controllers.split(",") if controllers else [""]:
                result[controller] = path
    return result


def _mounts(fstype: str) -> list[tuple[Path, str, set[str]]]:
    """(mount point, mount root, super options) of every mount of ``fstype``, from mountinfo."""
    found: list[tuple[Path, str, set[str]]] = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            left, _, right = line.partition(" - ")
            fields, rfields = left.split(), right.split()
            if len(fields) >= 5 and len(rfields) >= 3 and rfields[0] == fstype:
                found.append((Path(fields[4]), fields[3], set(rfields[2].split(","))))
    return found


def _under(mount: Path, mount_root: str, own: str) -> Path:
    """The directory of cgroup ``own`` in a hierarchy mounted at ``mount`` (showing ``mount_root``)."""
    if own == mount_root or own.startswith(mount_root.rstrip("/") + "/"):
        own = own[len(mount_root.rstrip("/")) :]
    return mount / own.lstrip("/")


def _v1_base(controller: str) -> Path | None:
    own = _own_cgroups().get(controller)
    if own is None:
        return None
    for mount, root, options in _mounts("cgroup"):
        if controller in options:
            base = _under(mount, root, own)
            return base if os.access(base, os.W_OK) else None
    return None


def _v2_base() -> Path | None:
    """Our v2 cgroup, if it can have children with the pids controller (enabling it if needed)."""
    own = _own_cgroups().get("")
    mounts = _mounts("cgroup2")
    if own is None or not mounts:
        return None
    mount, root, _ = mounts[0]
    base = _under(mount, root, own)
    try:
        if "pids" not in (base / "cgroup.controllers").read_text().split():
            return None
        if "pids" not in (base / "cgroup.subtree_control").read_text().split():
            # Fails with EBUSY when our cgroup holds processes and is not the root (the v2
            # "no internal processes" rule); then there is nothing we can do from here.
            _write(base / "cgroup.subtree_control", "+pids")
            _write_optional(base / "cgroup.subtree_control", "+memory")
    except OSError as exc:
        log.debug("cgroup v2 pids controller unavailable at %s: %s", base, exc)
        return None
    return base


def _write(path: Path, value: int | str) -> None:
    with open(path, "w") as handle:
        handle.write(str(value))


def _write_optional(path: Path, value: int | str) -> None:
    with contextlib.suppress(OSError):
        _write(path, value)
