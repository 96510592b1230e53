"""Escape and exhaustion attacks end to end: one attacker session runs every attack below, one per
turn, through the real engine, tools and bubblewrap; then each attack's outcome is checked on its
own. The server's environment holds secrets all along (``SECRETS``)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from agentic_executor.sandbox.cgroups import CommandCgroup
from agentic_executor.sandbox.runner import Limits, bwrap_available, run_command
from agentic_executor.testing import FakeModelServer
from agentic_executor.testing.scenarios import tool_use

from .conftest import SECRETS, Outcome, open_app, run_attack, unframe

HOST_MARK = f"/tmp/agx-escape-{uuid.uuid4().hex}"
"""A host path that any escaping write would create."""


def sh(command: str) -> dict[str, Any]:
    return tool_use("run_command", command=command)


def read(path: str) -> dict[str, Any]:
    return tool_use("read_file", path=path)


@dataclass(frozen=True)
class Attack:
    turns: list[list[dict[str, Any]]]
    check: Callable[[list[str]], bool]
    """Given the bodies of the attack's tool results (in order), True when it was contained."""


def refused(*fragments: str) -> Callable[[list[str]], bool]:
    return lambda bodies: all(any(f in b for b in bodies) for f in fragments)


def without(*fragments: str) -> Callable[[list[str]], bool]:
    return lambda bodies: bool(bodies) and not any(f in b for f in fragments for b in bodies)


def fork_limited() -> bool:
    group = CommandCgroup.create(max_pids=1, memory_bytes=None)
    if group is not None:
        group.close()
        return True
    return False


ATTACKS: dict[str, Attack] = {
    "read /root": Attack([[sh("ls -la /root; cat /root/.bashrc")]], refused("No such file or directory")),
    "read /etc/shadow": Attack([[sh("cat /etc/shadow /etc/gshadow")]], refused("/etc/shadow: No such file")),
    "/proc/1/environ": Attack([[sh("tr '\\0' '\\n' < /proc/1/environ")]], refused("PATH=/usr/local/bin")),
    "/proc/self/environ": Attack([[sh("cat /proc/self/environ | tr '\\0' '\\n'")]], refused("HOME=/workspace")),
    "every /proc/*/environ": Attack(
        [[sh("for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done; env")]], without("API_KEY", "TOKEN")
    ),
    "host processes": Attack([[sh("ls /proc | grep -c '^[0-9]'; ps -e 2>&1 | wc -l")]], without("python")),
    "host root via /proc/1/root": Attack(
        [[sh("ls /proc/1/root/; cat /proc/1/root/etc/shadow")]], refused("workspace", "No such file")
    ),
    "network to the internet": Attack(
        [[sh("python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)\"")]],
        refused("Network is unreachable"),
    ),
    "curl and wget": Attack(
        [[sh("curl -sS -m 3 https://example.com; wget -q -T 3 -O- http://example.com")]],
        without("<html", "Example Domain"),
    ),
    "memory hog": Attack([[sh("python3 -c 'b = bytearray(8 << 30); print(\"allocated\")'")]], refused("MemoryError")),
    "infinite output": Attack([[sh("yes")]], refused("killed after producing more than")),
    "runaway command": Attack([[sh("sleep 1000")]], refused("timed out after 3 s")),
    "write outside the workspace": Attack(
        [[sh(f"touch {HOST_MARK} /usr/x /etc/x /x; echo pwned >> /etc/passwd; ls /tmp")]],
        refused("Read-only file system"),
    ),
    "tamper with .git by command": Attack(
        [[sh("echo '[core]\n\tfsmonitor = touch /tmp/pwned' >> .git/config; rm -rf .git")]],
        refused("Read-only file system"),
    ),
    "privilege escalation": Attack(
        [[sh("sudo id; su -c id; unshare -r id; mount -t tmpfs x /tmp/m; id")]], refused("uid=1000(agent)")
    ),
    "read_file ..": Attack([[read("../../agx.db")], [read("a/../../x")]], refused("escapes the workspace")),
    "read_file absolute host paths": Attack(
        [[read("/etc/passwd"), read("/proc/self/environ"), read(HOST_MARK)]], refused("outside the workspace")
    ),
    "symlink to the server's /proc/self/environ": Attack(
        [[sh("ln -s /proc/self/environ env.link && ls -l env.link")], [read("env.link")]],
        refused("escapes the workspace through a symlink"),
    ),
    "symlink to /": Attack(
        [[sh("ln -s / root.link")], [read("root.link/etc/passwd"), tool_use("list_files", path="root.link")]],
        refused("read_file: path escapes the workspace", "list_files: path escapes the workspace"),
    ),
    "relative symlink climbing out": Attack(
        [[sh("ln -s ../../.. up")], [read("up/agx.db"), tool_use("write_file", path="up/planted", content="x")]],
        refused("escapes the workspace"),
    ),
    "write_file through a symlink": Attack(
        [[sh(f"ln -s {HOST_MARK} out.link")], [tool_use("write_file", path="out.link", content="pwned")]],
        refused("escapes the workspace through a symlink"),
    ),
    "write_file into .git": Attack(
        [[tool_use("write_file", path=".git/hooks/pre-commit", content="#!/bin/sh\ntouch /tmp/pwned\n")]],
        refused("off limits"),
    ),
    "hard link to a host file": Attack([[sh("ln /etc/passwd hl; ln /proc/self/environ hl2")]], refused("link")),
    "fifo and device": Attack(
        [[sh("mkfifo pipe; ln -s /dev/zero zero")], [read("pipe"), read("zero")]],
        refused("not a regular file", "escapes the workspace through a symlink"),
    ),
}
ATTACKS["network to the model API on the host"] = Attack([], refused("Connection refused"))  # its port: attacked()
if fork_limited():
    ATTACKS["fork bomb"] = Attack(
        [[sh("bomb() { bomb | bomb & }; bomb; sleep 1; echo survived")]], refused("Resource temporarily unavailable")
    )


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory, fake_server: FakeModelServer) -> Iterator[dict[str, Any]]:
    """Run every attack in one session; map each attack to the bodies of its tool results."""
    if not bwrap_available():
        pytest.skip("bwrap is not installed or cannot create namespaces here")
    host = fake_server.base_url.split("//", 1)[1]
    ip, port = host.rsplit(":", 1)
    api_probe = f"python3 -c \"import socket; socket.create_connection(('{ip}', {port}), timeout=3)\""
    ATTACKS["network to the model API on the host"] = Attack([[sh(api_probe)]], refused("Connection refused"))
    names, plan = [], []
    for name, attack in ATTACKS.items():
        for turn in attack.turns:
            names.append(name)
            plan.append(turn)
    home = tmp_path_factory.mktemp("escapes")
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in SECRETS.items():
            patch.setenv(variable, value)
        app = open_app(home / "home", home / "escapes.db", command_timeout_s=3)
        try:
            outcome = run_attack(app, fake_server, plan)
            turns = [m for m in outcome.messages[1:] if m["role"] == "user"]
            bodies: dict[str, list[str]] = {name: [] for name in ATTACKS}
            for name, message in zip(names, turns, strict=False):
                for block in message["content"]:
                    if block.get("type") == "tool_result":
                        bodies[name].append(unframe(str(block["content"])))
            yield {"outcome": outcome, "bodies": bodies, "turns": len(plan)}
        finally:
            app.close()


@pytest.mark.parametrize("name", list(ATTACKS))
def test_attack_is_contained(attacked: dict[str, Any], name: str) -> None:
    bodies = attacked["bodies"][name]
    assert bodies, f"{name}: no tool result recorded"
    assert ATTACKS[name].check(bodies), "\n---\n".join(bodies)
    for value in SECRETS.values():
        assert all(value not in b for b in bodies)


def test_every_attack_was_recorded_and_the_session_contained(attacked: dict[str, Any]) -> None:
    outcome: Outcome = attacked["outcome"]
    tool_calls = outcome.of("tool_call")
    assert len(tool_calls) == sum(len(t) for a in ATTACKS.values() for t in a.turns)
    assert outcome.session.iteration == attacked["turns"] + 1  # every attack turn, then the claim
    assert outcome.status == "failed"
    outcome.assert_contained()
    assert not Path(HOST_MARK).exists() and not Path("/tmp/pwned").exists()


def test_a_service_killed_mid_command_leaves_no_process_and_no_cgroup(tmp_path: Path) -> None:
    """SIGKILL skips every cleanup of the runner: bwrap takes the command down with it, and the
    next command sweeps the empty cgroup that was left."""
    if not bwrap_available() or not fork_limited():
        pytest.skip("needs bwrap and a writable pids cgroup")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    marker = f"sleep 1000.{uuid.uuid4().int % 10**6}"
    script = "import sys; from agentic_executor.sandbox import run_command; run_command(sys.argv[1], sys.argv[2][::-1])"
    child = subprocess.Popen([sys.executable, "-c", script, str(workspace), marker[::-1]])  # only the sleep shows it
    try:
        deadline = time.monotonic() + 10
        while not processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        pids = {str(pid) for pid in processes_with(marker)}
        # this command's groups only: other test runs on the machine have groups of their own
        groups = {g for g in cgroup_dirs() if pids & set((g / "cgroup.procs").read_text().split())}
        assert pids and groups
    finally:
        child.kill()
        child.wait()
    deadline = time.monotonic() + 5
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker) == []
    left = [g for g in groups if g.exists()]
    assert left, "the killed service left no cgroup behind: nothing to sweep"
    for group in left:
        os.utime(group, (time.time() - 3600, time.time() - 3600))
    run_command(workspace, "true", limits=Limits(wall_time_s=5))
    assert not any(g.exists() for g in left)


def cgroup_dirs() -> list[Path]:
    return [*Path("/sys/fs/cgroup").glob("*/agx-sandbox-*"), *Path("/sys/fs/cgroup").glob("agx-sandbox-*")]


def processes_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "cmdline").read_bytes().replace(b"\x00", b" ").decode():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_nested_git_metadata_of_every_kind_is_renamed_after_a_command(tmp_path: Path) -> None:
    """A nested ``.git`` directory, ``.git`` file (``gitdir:`` pointer) or ``.git`` symlink would make
    the host's git load the agent's config; the workspace's own ``.git`` is left alone."""
    if not bwrap_available():
        pytest.skip("bwrap is not installed or cannot create namespaces here")
    workspace = tmp_path / "ws"
    (workspace / ".git").mkdir(parents=True)
    script = (
        "git init -q a && mkdir -p b/c d && echo 'gitdir: ../../a/.git-disabled' > b/c/.git"
        " && ln -s ../a/.git-disabled d/.git && mkdir -p e/.git-disabled e/.git"
    )
    result = run_command(workspace, script, limits=Limits(wall_time_s=10))
    assert result.exit_code == 0, result.output
    assert "nested git repositories are not allowed" in result.output
    assert sorted(p.relative_to(workspace).as_posix() for p in workspace.rglob(".git")) == [".git"]
    assert (workspace / "a" / ".git-disabled" / "HEAD").is_file()
    assert (workspace / "b" / "c" / ".git-disabled").read_text().startswith("gitdir:")
    assert (workspace / "e" / ".git-disabled-1").is_dir()
