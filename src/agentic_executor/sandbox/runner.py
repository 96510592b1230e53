"""Run one shell command of the agent: ``run_command``, inside bubblewrap, under hard limits.

Invariant: the command sees only the workspace (read-write at ``/workspace``, ``.git`` read-only),
a read-only ``/usr`` and a handful of ``/etc`` files; it has no network, no host environment (never
a provider key), and it cannot outlive, outgrow or out-talk its limits: every process of the command
is dead when ``run_command`` returns, and the output kept in memory never exceeds the cap.

What enforces each limit:

* wall time — the parent's own clock; on expiry the process group of ``bwrap`` gets SIGKILL, and
  ``--die-with-parent`` plus the PID namespace take every sandboxed process down with it;
* output — one pipe (stdout and stderr merged) read incrementally; the first half of the cap and
  the last half are kept, the middle is counted and dropped; a command that keeps talking past
  ``kill_output_bytes`` is killed, so ``yes`` ends in milliseconds, not at the wall time;
* memory — ``RLIMIT_AS`` per process (set in ``preexec_fn``, inherited through bwrap), plus a
  memory cgroup over the whole tree when one can be made (it also covers the size-capped tmpfs);
* CPU — ``RLIMIT_CPU`` per process (SIGXCPU, then SIGKILL one second later);
* processes — a pids cgroup (see ``cgroups.py``); ``RLIMIT_NPROC`` does not bind root-owned
  processes, and bwrap run by root maps the sandbox uid 1000 onto host uid 0, so it is only a
  fallback for a service that runs unprivileged (and then it counts all of that uid's processes);
* files — ``RLIMIT_FSIZE`` per file, ``--size`` on the ``/tmp`` and ``/dev/shm`` tmpfs; the
  workspace's disk usage as a whole is not limited here;
* the host's git — a repository nested in the workspace would have its config run by the
  engine's git on the host: after the command its ``.git`` is renamed away (``nested_git``).

Between fork and exec the child runs ``preexec_fn`` with system calls only (join the cgroup, set
the rlimits, all computed beforehand); Python calls ``preexec_fn`` unsafe in threaded programs, and
this is the accepted, minimised risk: 3.11 has no other way to give a child rlimits or a cgroup
before it can fork.

Without a working ``bwrap`` the command runs as a plain subprocess in the workspace, with the same
rlimits, cgroup, timeout, output cap and cleared environment but no isolation; that is logged and
warned about loudly on every call (``CommandResult.sandboxed`` is False).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import resource
import selectors
import shutil
import signal
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agentic_executor.errors import BadInput
from agentic_executor.sandbox.cgroups import CommandCgroup
from agentic_executor.sandbox.errors import ToolError
from agentic_executor.sandbox.nested_git import DISABLED, disable_nested_repositories
from agentic_executor.sandbox.paths import SANDBOX_ROOT

log = logging.getLogger(__name__)

SANDBOX_UID = 1000
SANDBOX_PATH = "/usr/local/bin:/usr/bin:/bin"
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_ETC_FILES = (
    "alternatives",
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "nsswitch.conf",
    "ssl/certs",
    "ssl/openssl.cnf",
    "mime.types",
)
_ETC_DATA = {
    "/etc/passwd": (
        "root:x:0:0:root:/root:/bin/sh\n"
        f"agent:x:{SANDBOX_UID}:{SANDBOX_UID}:agent:{SANDBOX_ROOT}:/bin/bash\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    ),
    "/etc/group": f"root:x:0:\nagent:x:{SANDBOX_UID}:\nnogroup:x:65534:\n",
    "/etc/hosts": "127.0.0.1 localhost sandbox\n::1 localhost ip6-localhost ip6-loopback\n",
    "/etc/hostname": "sandbox\n",
}
_EXIT_GRACE_S = 0.5
"""How long output is still read after the shell exited, before stray holders of the pipe die."""
_CHUNK = 65536


@dataclass(frozen=True)
class Limits:
    """Hard limits of one command; every field must be positive."""

    wall_time_s: float = 60.0
    output_bytes: int = 64 * 1024
    """Combined stdout+stderr kept (half from the start, half from the end)."""
    memory_bytes: int = 1 << 30
    """Address space per process, and total memory of the command when a cgroup is available."""
    cpu_s: int = 60
    max_processes: int = 256
    """Tasks (threads included) in the pids cgroup."""
    file_size_bytes: int = 1 << 30
    tmp_bytes: int = 256 << 20
    """Size of each of the sandbox's tmpfs mounts (/tmp, /dev/shm)."""
    kill_output_bytes: int = 16 << 20
    """Total output after which the command is killed as runaway."""

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
                raise BadInput(f"Limits.{name} must be a positive number, got {value!r}", details={"field": name})


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class CommandResult:
    exit_code: int
    """The shell's exit status; 128+N when killed by signal N (137 after a timeout kill)."""
    output: str
    """stdout and stderr interleaved, decoded as UTF-8 with errors replaced."""
    truncated_bytes: int
    """Bytes of output dropped from the middle (0 when ``output`` is complete)."""
    timed_out: bool
    duration_s: float
    sandboxed: bool
    killed_for_output: bool = False
    """True when the command was killed for producing more than ``Limits.kill_output_bytes``."""


def bwrap_available() -> bool:
    """Whether bubblewrap is installed and can create the namespaces we need (probed once)."""
    return _probe_bwrap()


@functools.cache
def _probe_bwrap() -> bool:
    exe = shutil.which("bwrap")
    if exe is None:
        return False
    argv = [exe, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent"]
    argv += ["--ro-bind", "/", "/", "true"]
    try:
        probe = subprocess.run(argv, capture_output=True, timeout=10, env={"PATH": SANDBOX_PATH}, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.warning("bwrap at %s cannot be run: %s", exe, exc)
        return False
    if probe.returncode != 0:
        log.warning("bwrap at %s does not work: %s", exe, probe.stderr.decode(errors="replace").strip())
        return False
    return True


def run_command(workspace: Path, command: str, *, limits: Limits = DEFAULT_LIMITS) -> CommandResult:
    """Run ``command`` with bash in the workspace, sandboxed when bwrap works; see the module doc."""
    if "\x00" in command:
        raise ToolError("command contains a NUL byte")
    root = Path(workspace).resolve(strict=True)
    shell = shutil.which("bash", path=SANDBOX_PATH) or "/bin/sh"
    sandboxed = bwrap_available()
    data_fds: list[int] = []
    if sandboxed:
        for content in _ETC_DATA.values():
            data_fds.append(_data_fd(content.encode()))
        argv = _bwrap_argv(root, [shell, "-c", command], limits, data_fds)
        env = {"PATH": SANDBOX_PATH}
    else:
        message = f"bwrap is not available: running {command[:60]!r} UNSANDBOXED in {root}"
        log.warning(message)
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        argv = [shell, "-c", command]
        env = {"PATH": SANDBOX_PATH, "HOME": str(root), "LANG": "C.UTF-8"}

    cgroup = CommandCgroup.create(max_pids=limits.max_processes, memory_bytes=limits.memory_bytes)
    if cgroup is None:
        log.debug("no cgroup available; process count limited by RLIMIT_NPROC only")
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=root,
            env=env,
            start_new_session=True,
            pass_fds=data_fds,
            preexec_fn=_child_setup(limits, cgroup),
        )
    except BaseException:
        if cgroup is not None:
            cgroup.close()
        raise
    finally:
        for fd in data_fds:
            os.close(fd)
    try:
        output, timed_out, runaway = _collect(proc, limits, started, cgroup)
    finally:
        _kill(proc, cgroup)
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
        if cgroup is not None:
            cgroup.close()
        renamed = disable_nested_repositories(root)  # every process is dead: nothing can race it
    code = proc.returncode
    text = output.text()
    if renamed:
        note = f"[sandbox: nested git repositories are not allowed; renamed {', '.join(renamed)} to {DISABLED}]\n"
        text += ("\n" if text and not text.endswith("\n") else "") + note
    return CommandResult(
        exit_code=128 - code if code < 0 else code,
        output=text,
        truncated_bytes=output.dropped,
        timed_out=timed_out,
        duration_s=time.monotonic() - started,
        sandboxed=sandboxed,
        killed_for_output=runaway,
    )


def _bwrap_argv(root: Path, command: list[str], limits: Limits, data_fds: list[int]) -> list[str]:
    exe = shutil.which("bwrap") or "bwrap"
    argv = [exe, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session"]
    argv += ["--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--hostname", "sandbox", "--cap-drop", "ALL"]
    for directory in _SYSTEM_DIRS:
        if os.path.islink(directory):
            argv += ["--symlink", os.readlink(directory), directory]
        elif os.path.isdir(directory):
            argv += ["--ro-bind", directory, directory]
    for name in _ETC_FILES:
        argv += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for fd, target in zip(data_fds, _ETC_DATA, strict=True):
        argv += ["--ro-bind-data", str(fd), target]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    argv += ["--size", str(limits.tmp_bytes), "--tmpfs", "/tmp"]
    argv += ["--size", str(limits.tmp_bytes), "--tmpfs", "/dev/shm"]
    argv += ["--bind", str(root), SANDBOX_ROOT]
    git_dir = root / ".git"
    if git_dir.is_dir() and not git_dir.is_symlink():  # the engine's checkpoints live there
        argv += ["--ro-bind", str(git_dir), f"{SANDBOX_ROOT}/.git"]
    argv += ["--chdir", SANDBOX_ROOT, "--clearenv", "--setenv", "PATH", SANDBOX_PATH]
    argv += ["--setenv", "HOME", SANDBOX_ROOT, "--setenv", "LANG", "C.UTF-8"]
    argv += ["--remount-ro", "/"]  # the sandbox's own root tmpfs: /etc, / itself
    return [*argv, "--", *command]


def _data_fd(content: bytes) -> int:
    """A pipe's read end holding ``content`` (small: it must fit the pipe buffer)."""
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, content)
    finally:
        os.close(write_end)
    return read_end


def _rlimit(kind: int, soft: int, hard: int | None = None) -> tuple[int, tuple[int, int]]:
    """``(kind, (soft, hard))`` clamped to the current hard limit, so an unprivileged set cannot fail."""
    hard = soft if hard is None else hard
    _, current_hard = resource.getrlimit(kind)
    if current_hard != resource.RLIM_INFINITY:
        soft, hard = min(soft, current_hard), min(hard, current_hard)
    return kind, (soft, hard)


def _child_setup(limits: Limits, cgroup: CommandCgroup | None) -> Callable[[], None]:
    """The ``preexec_fn``: join the cgroup, then set the rlimits. Everything is computed up front so
    the child, between fork and exec, only makes system calls."""
    procs_files = cgroup.procs_files if cgroup is not None else []
    rlimits = [
        _rlimit(resource.RLIMIT_AS, limits.memory_bytes),
        _rlimit(resource.RLIMIT_CPU, int(limits.cpu_s), int(limits.cpu_s) + 1),
        _rlimit(resource.RLIMIT_FSIZE, limits.file_size_bytes),
        _rlimit(resource.RLIMIT_CORE, 0),
    ]
    if cgroup is None or "pids" not in cgroup.controllers:
        rlimits.append(_rlimit(resource.RLIMIT_NPROC, limits.max_processes))

    def setup() -> None:
        pid = str(os.getpid()).encode()
        for procs in procs_files:
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, pid)
            finally:
                os.close(fd)
        for kind, values in rlimits:
            resource.setrlimit(kind, values)

    return setup


class _Output:
    """Keeps the first and the last half of ``cap`` bytes; counts what falls in between."""

    def __init__(self, cap: int) -> None:
        self.head_cap, self.tail_cap = cap - cap // 2, cap // 2
        self.head, self.tail = bytearray(), bytearray()
        self.total = 0
        self.dropped = 0

    def feed(self, chunk: bytes) -> None:
        self.total += len(chunk)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            excess = len(self.tail) - self.tail_cap
            if excess > 0:
                del self.tail[:excess]
                self.dropped += excess

    def text(self) -> str:
        if not self.dropped:
            return bytes(self.head + self.tail).decode("utf-8", errors="replace")
        head = self.head.decode("utf-8", errors="replace")
        tail = self.tail.decode("utf-8", errors="replace")
        return f"{head}\n[... {self.dropped} bytes of output omitted ...]\n{tail}"


def _collect(
    proc: subprocess.Popen[bytes], limits: Limits, started: float, cgroup: CommandCgroup | None
) -> tuple[_Output, bool, bool]:
    """Read the merged output until EOF, the deadline or the runaway limit: (output, timed_out, runaway)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    output = _Output(limits.output_bytes)
    deadline = started + limits.wall_time_s
    exited_at: float | None = None
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            if now >= deadline:
                _kill(proc, cgroup)
                return output, True, False
            if exited_at is None and proc.poll() is not None:
                exited_at = now
            if exited_at is not None and now - exited_at > _EXIT_GRACE_S:
                return output, False, False  # a background process still holds the pipe
            if not selector.select(timeout=min(deadline - now, 0.1)):
                continue
            chunk = os.read(fd, _CHUNK)
            if not chunk:  # EOF: every writer is gone, but the shell may not have exited yet
                try:
                    proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
                except subprocess.TimeoutExpired:
                    _kill(proc, cgroup)
                    return output, True, False
                return output, False, False
            output.feed(chunk)
            if output.total > limits.kill_output_bytes:
                _kill(proc, cgroup)
                return output, False, True


def _kill(proc: subprocess.Popen[bytes], cgroup: CommandCgroup | None) -> None:
    """SIGKILL the command's process group (bwrap, or the shell when unsandboxed) and its cgroup."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # also after the leader exited: its background jobs
    if cgroup is not None:
        cgroup.kill_all()
