"""resolve_inside: every path resolves inside the workspace, on real files, links and special files."""

from __future__ import annotations

import os
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentic_executor.sandbox.paths import ToolError, resolve_inside


@pytest.fixture
def ws(tmp_path: Path) -> Path:
    workspace = tmp_path / "ws"
    (workspace / "src").mkdir(parents=True)
    (workspace / "src" / "app.py").write_text("print('hi')\n")
    (workspace / ".git").mkdir()
    (workspace / ".git" / "config").write_text("[core]\n")
    return workspace


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret_dir = tmp_path / "outside"
    secret_dir.mkdir()
    (secret_dir / "secret.txt").write_text("top secret\n")
    return secret_dir


def refused(ws: Path, user_path: str, fragment: str, *, must_exist: bool = False) -> None:
    with pytest.raises(ToolError) as caught:
        resolve_inside(ws, user_path, must_exist=must_exist)
    assert fragment in caught.value.message


# --- what is allowed -------------------------------------------------------------------------


def test_relative_paths_resolve_inside(ws: Path) -> None:
    assert resolve_inside(ws, "src/app.py", must_exist=True) == ws / "src" / "app.py"
    assert resolve_inside(ws, ".") == ws
    assert resolve_inside(ws, "./src/./app.py") == ws / "src" / "app.py"
    assert resolve_inside(ws, "src/../src/app.py") == ws / "src" / "app.py"


def test_missing_paths_are_fine_unless_required(ws: Path) -> None:
    assert resolve_inside(ws, "new/dir/file.txt") == ws / "new" / "dir" / "file.txt"
    refused(ws, "nope.txt", "no such file or directory: nope.txt", must_exist=True)


def test_absolute_paths_inside_the_workspace_map_onto_it(ws: Path) -> None:
    assert resolve_inside(ws, str(ws / "src" / "app.py")) == ws / "src" / "app.py"
    assert resolve_inside(ws, "/workspace/src/app.py") == ws / "src" / "app.py"
    assert resolve_inside(ws, "/workspace") == ws


def test_symlinks_inside_are_followed_to_their_target(ws: Path) -> None:
    (ws / "link.py").symlink_to("src/app.py")
    (ws / "srclink").symlink_to(ws / "src")
    (ws / "sandbox_abs").symlink_to("/workspace/src/app.py")  # as made by `ln -s` in the sandbox
    assert resolve_inside(ws, "link.py", must_exist=True) == ws / "src" / "app.py"
    assert resolve_inside(ws, "srclink/app.py", must_exist=True) == ws / "src" / "app.py"
    assert resolve_inside(ws, "sandbox_abs", must_exist=True) == ws / "src" / "app.py"


def test_workspace_given_through_a_symlink(tmp_path: Path, ws: Path) -> None:
    alias = tmp_path / "alias"
    alias.symlink_to(ws)
    assert resolve_inside(alias, "src/app.py") == ws / "src" / "app.py"
    assert resolve_inside(alias, str(alias / "src" / "app.py")) == ws / "src" / "app.py"


# --- what is refused -------------------------------------------------------------------------


@pytest.mark.parametrize("user_path", ["..", "../outside/secret.txt", "src/../../x", "./src/../../../etc"])
def test_dotdot_escapes(ws: Path, outside: Path, user_path: str) -> None:
    refused(ws, user_path, "path escapes the workspace")


@pytest.mark.parametrize("user_path", ["/etc/passwd", "/", "/workspacefoo/x", "/tmp"])
def test_absolute_paths_outside(ws: Path, user_path: str) -> None:
    refused(ws, user_path, "absolute path outside the workspace")


def test_absolute_path_climbing_out_of_the_workspace(ws: Path) -> None:
    refused(ws, "/workspace/../etc/passwd", "path escapes the workspace")
    refused(ws, f"{ws}/../outside", "path escapes the workspace")


def test_symlink_to_outside_file(ws: Path, outside: Path) -> None:
    (ws / "leak").symlink_to(outside / "secret.txt")
    (ws / "rel_leak").symlink_to("../outside/secret.txt")
    refused(ws, "leak", "escapes the workspace through a symlink")
    refused(ws, "rel_leak", "path escapes the workspace")


def test_symlinked_parent_directory(ws: Path, outside: Path) -> None:
    (ws / "src" / "evil").symlink_to(outside)
    refused(ws, "src/evil/secret.txt", "escapes the workspace through a symlink")
    refused(ws, "src/evil/new_file.txt", "escapes the workspace through a symlink")  # writes too


def test_dangling_symlink_pointing_outside(ws: Path, tmp_path: Path) -> None:
    (ws / "dangling").symlink_to(tmp_path / "does-not-exist-yet")
    refused(ws, "dangling", "escapes the workspace through a symlink")


def test_symlink_chain_that_leaves_and_comes_back(ws: Path, outside: Path) -> None:
    (outside / "back").symlink_to(ws / "src" / "app.py")
    (ws / "hop").symlink_to(outside / "back")
    refused(ws, "hop", "escapes the workspace through a symlink")


def test_symlink_whose_dotdot_climbs_out_after_a_link(ws: Path, outside: Path) -> None:
    # "deep" points inside, but "deep/../.." walks physically up from src/ and then out
    (ws / "deep").symlink_to("src")
    refused(ws, "deep/../../outside/secret.txt", "path escapes the workspace")


def test_symlink_loop(ws: Path) -> None:
    (ws / "a").symlink_to("b")
    (ws / "b").symlink_to("a")
    refused(ws, "a", "too many levels of symbolic links")


@pytest.mark.parametrize("user_path", [".git", ".git/config", "src/../.git/hooks/pre-commit", ".GIT/config"])
def test_git_directory_is_off_limits(ws: Path, user_path: str) -> None:
    refused(ws, user_path, "paths inside .git/ are off limits")


def test_symlink_into_git_is_off_limits(ws: Path) -> None:
    (ws / "cfg").symlink_to(".git/config")
    refused(ws, "cfg", "paths inside .git/ are off limits")


def test_hard_link_is_refused(ws: Path, outside: Path) -> None:
    os.link(outside / "secret.txt", ws / "alias.txt")
    refused(ws, "alias.txt", "has 2 hard links")


def test_fifo_is_refused(ws: Path) -> None:
    os.mkfifo(ws / "pipe")
    refused(ws, "pipe", "devices, FIFOs and sockets are off limits")


def test_device_is_refused(ws: Path) -> None:
    try:
        os.mknod(ws / "null", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs CAP_MKNOD")
    refused(ws, "null", "devices, FIFOs and sockets are off limits")


@pytest.fixture
def unix_socket(ws: Path) -> Iterator[Path]:
    path = ws / "sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    yield path
    server.close()


def test_socket_is_refused(ws: Path, unix_socket: Path) -> None:
    refused(ws, "sock", "devices, FIFOs and sockets are off limits")


def test_file_used_as_directory(ws: Path) -> None:
    refused(ws, "src/app.py/x", "not a directory: src/app.py")


@pytest.mark.parametrize(("user_path", "fragment"), [("", "path is empty"), ("a\x00b", "NUL"), (3, "must be a string")])
def test_malformed_paths(ws: Path, user_path: object, fragment: str) -> None:
    refused(ws, user_path, fragment)  # type: ignore[arg-type]
