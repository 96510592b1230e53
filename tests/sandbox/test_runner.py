"""run_command under real bubblewrap: isolation, cleared environment and every limit, on the real host."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentic_executor.errors import BadInput
from agentic_executor.sandbox import runner
from agentic_executor.sandbox.cgroups import CommandCgroup
from agentic_executor.sandbox.errors import ToolError
from agentic_executor.sandbox.runner import Limits, bwrap_available, run_command

FAST = Limits(wall_time_s=10)


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    """A fresh workspace; the test is skipped (failed in CI) when bwrap cannot sandbox here."""
    if not bwrap_available():
        if os.environ.get("CI"):
            pytest.fail("bwrap is not usable in CI")
        pytest.skip("bwrap is not installed or cannot create namespaces here")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    return workspace


def processes_with(marker: str) -> list[int]:
    """Host pids whose command line contains ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\x00", b" ").decode()
            except OSError:
                continue
            if marker in cmdline:
                found.append(int(entry.name))
    return found


# --- it runs ---------------------------------------------------------------------------------


def test_echo(ws: Path) -> None:
    result = run_command(ws, "echo hello; echo oops >&2; exit 3", limits=FAST)
    assert result.exit_code == 3
    assert result.output == "hello\noops\n"
    assert result.sandboxed and not result.timed_out and result.truncated_bytes == 0
    assert 0 < result.duration_s < 5


def test_toolchain_is_available(ws: Path) -> None:
    result = run_command(ws, "python3 -c 'print(6*7)' && git --version && ls / && grep -c . /etc/passwd")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("42\ngit version")
    node = run_command(ws, "command -v node >/dev/null || exit 99; node -e 'console.log(1+1)'")
    if node.exit_code == 99:
        pytest.skip("node is not installed on this host")
    assert (node.exit_code, node.output) == (0, "2\n")


def test_workspace_is_cwd_home_and_writable(ws: Path) -> None:
    result = run_command(ws, 'pwd; echo "$HOME"; echo data > made.txt; id -un', limits=FAST)
    assert result.output == "/workspace\n/workspace\nagent\n"
    assert (ws / "made.txt").read_text() == "data\n"


def test_git_directory_is_read_only_inside(ws: Path) -> None:
    (ws / ".git").mkdir()
    script = "touch .git/planted 2>/dev/null; echo $?; mv .git elsewhere 2>/dev/null; echo $?"
    result = run_command(ws, script, limits=FAST)
    assert result.output.split() == ["1", "1"]
    assert not (ws / ".git" / "planted").exists() and (ws / ".git").is_dir()


# --- isolation -------------------------------------------------------------------------------

CONNECT = """
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2).close()
    print("connected")
except OSError as exc:
    print("refused", exc.errno)
"""


@pytest.fixture
def host_listener() -> Iterator[int]:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    yield server.getsockname()[1]
    server.close()


@pytest.mark.parametrize("port", ["listener", "5432"])
def test_no_network(ws: Path, host_listener: int, port: str) -> None:
    target = host_listener if port == "listener" else 5432
    (ws / "connect.py").write_text(CONNECT)
    if port == "listener":  # the same connection works from the host, so the refusal is the sandbox's
        socket.create_connection(("127.0.0.1", target), timeout=2).close()
    result = run_command(ws, f"python3 connect.py {target}", limits=FAST)
    assert result.output.startswith("refused"), result.output


def test_cannot_write_outside_workspace(ws: Path) -> None:
    targets = "/usr/planted /etc/planted /planted /bin/planted /proc/planted /etc/passwd"
    script = f"for f in {targets}; do touch $f 2>/dev/null; echo $?; done; touch /tmp/ok && echo tmp-ok"
    result = run_command(ws, script, limits=FAST)
    assert result.output.split() == ["1"] * 6 + ["tmp-ok"]
    assert not Path("/usr/planted").exists() and not Path("/etc/planted").exists()


def test_host_files_are_not_visible(ws: Path, tmp_path: Path) -> None:
    (tmp_path / "host-only.txt").write_text("host\n")  # beside the workspace, on the host's /tmp
    script = f"ls /root /home 2>&1; test -e {tmp_path}/host-only.txt && echo VISIBLE; ls /etc"
    result = run_command(ws, script, limits=FAST)
    assert "No such file or directory" in result.output
    assert "VISIBLE" not in result.output
    assert "shadow" not in result.output and "gitconfig" not in result.output


def test_environment_is_cleared(ws: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-must-not-leak")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-openai-test-must-not-leak")
    result = run_command(ws, "env", limits=FAST)
    assert "must-not-leak" not in result.output and "API_KEY" not in result.output
    names = {line.split("=", 1)[0] for line in result.output.splitlines()}
    assert names <= {"PATH", "HOME", "LANG", "PWD", "SHLVL", "_"}


# --- limits ----------------------------------------------------------------------------------


def test_timeout_kills_the_command_and_its_children(ws: Path) -> None:
    started = time.monotonic()
    result = run_command(ws, "(sleep 1000.417 &); sleep 100", limits=Limits(wall_time_s=1))
    assert result.timed_out and result.exit_code == 137
    assert time.monotonic() - started < 3
    assert processes_with("sleep 1000.417") == []


def test_background_jobs_do_not_outlive_the_command(ws: Path) -> None:
    started = time.monotonic()
    result = run_command(ws, "sleep 1000.731 & echo started", limits=FAST)
    assert (result.exit_code, result.output, result.timed_out) == (0, "started\n", False)
    assert time.monotonic() - started < 3
    assert processes_with("sleep 1000.731") == []


def test_infinite_output_is_cut_quickly(ws: Path) -> None:
    started = time.monotonic()
    result = run_command(ws, "yes", limits=Limits(output_bytes=1000))
    assert time.monotonic() - started < 5
    assert result.killed_for_output and not result.timed_out
    assert result.truncated_bytes > 1_000_000
    assert result.output.startswith("y\ny\n") and "bytes of output omitted" in result.output
    assert len(result.output) < 1100


def test_long_output_keeps_head_and_tail(ws: Path) -> None:
    result = run_command(ws, "seq 1 100000", limits=Limits(output_bytes=1000))
    total = sum(len(f"{n}\n") for n in range(1, 100001))
    assert result.exit_code == 0 and not result.killed_for_output
    assert result.truncated_bytes == total - 1000
    assert result.output.startswith("1\n2\n3\n") and result.output.endswith("99999\n100000\n")


def test_memory_hog_fails(ws: Path) -> None:
    hog = "python3 -c 'b = bytearray(512 * 1024 * 1024); print(\"allocated\")'"
    result = run_command(ws, hog, limits=Limits(wall_time_s=10, memory_bytes=256 << 20))
    assert result.exit_code != 0 and "allocated" not in result.output
    assert "MemoryError" in result.output


def test_cpu_limit(ws: Path) -> None:
    result = run_command(ws, "python3 -c 'while True: pass'", limits=Limits(wall_time_s=10, cpu_s=1))
    assert result.exit_code == 128 + 24 and not result.timed_out  # SIGXCPU
    assert result.duration_s < 5


def test_tmp_is_size_capped(ws: Path) -> None:
    script = "head -c 5000000 /dev/zero > /tmp/big; echo $?"
    result = run_command(ws, script, limits=Limits(wall_time_s=10, tmp_bytes=1 << 20))
    assert result.output.splitlines()[-1] == "1" and "No space left" in result.output


FORK_PROBE = """
import os, time
for n in range(60):
    try:
        if os.fork() == 0:
            time.sleep(3)
            os._exit(0)
    except OSError as exc:
        print("fork refused after", n, "children:", exc.strerror)
        break
else:
    print("all 60 forks succeeded")
"""


def process_limit_enforced() -> bool:
    group = CommandCgroup.create(max_pids=1, memory_bytes=None)
    if group is not None:
        group.close()
        return True
    return os.geteuid() != 0  # RLIMIT_NPROC binds unprivileged users only


@pytest.mark.skipif(not process_limit_enforced(), reason="no pids cgroup and running as root: nothing contains forks")
def test_process_limit_then_fork_bomb_is_contained(ws: Path) -> None:
    guard = Limits(wall_time_s=5, cpu_s=5, max_processes=24, memory_bytes=256 << 20)
    # First a bounded probe that cannot hurt even if unlimited: 60 sleepers against a limit of 24.
    probe = run_command(ws, f"python3 -c '{FORK_PROBE}'", limits=guard)
    assert probe.output.startswith("fork refused after"), probe.output
    assert int(probe.output.split()[3]) < 24
    # Only with the limit proven, the real thing.
    bomb = "bomb() { bomb | bomb & }; bomb; sleep 1; echo survived"
    started = time.monotonic()
    result = run_command(ws, bomb, limits=guard)
    assert time.monotonic() - started < 8
    assert "Resource temporarily unavailable" in result.output
    # the host is fine: it forks, and no sandbox cgroup or process is left behind
    assert subprocess.run(["true"], check=False).returncode == 0
    assert list(Path("/sys/fs/cgroup/pids").glob("agx-sandbox-*")) == [] or os.geteuid() != 0


# --- inputs and the fallback -----------------------------------------------------------------


def test_limits_are_validated() -> None:
    with pytest.raises(BadInput, match=r"Limits\.wall_time_s must be a positive number"):
        Limits(wall_time_s=0)


def test_nul_in_command(ws: Path) -> None:
    with pytest.raises(ToolError, match="NUL"):
        run_command(ws, "echo a\x00b")


def test_fallback_without_bwrap_warns_and_keeps_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = tmp_path
    monkeypatch.setattr(runner, "bwrap_available", lambda: False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-must-not-leak")
    with pytest.warns(RuntimeWarning, match="UNSANDBOXED"):
        result = run_command(ws, "pwd; env", limits=FAST)
    assert not result.sandboxed and result.exit_code == 0
    assert result.output.splitlines()[0] == str(ws.resolve())
    assert "must-not-leak" not in result.output
    with pytest.warns(RuntimeWarning):
        slow = run_command(ws, "sleep 1000.913 & sleep 100", limits=Limits(wall_time_s=1))
    assert slow.timed_out and slow.duration_s < 3
    assert processes_with("sleep 1000.913") == []
    with pytest.warns(RuntimeWarning):
        chatty = run_command(ws, "yes", limits=Limits(output_bytes=100))
    assert chatty.killed_for_output and len(chatty.output) < 200


def test_bwrap_is_usable_where_installed() -> None:
    if shutil.which("bwrap") is None:
        pytest.skip("bwrap is not installed")
    assert bwrap_available()
