"""The loopback preview server serves the folder and nothing else."""

from __future__ import annotations

import http.client
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from agentic_executor.gates.serve import serve_folder


def _get(base: str, raw_path: str) -> tuple[int, bytes]:
    """GET ``raw_path`` exactly as written (no client-side normalisation of '..')."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=5)
    try:
        conn.request("GET", raw_path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    outside = tmp_path / "secret.txt"
    outside.write_text("host secret")
    site = tmp_path / "site"
    (site / "css").mkdir(parents=True)
    (site / "index.html").write_text("<!DOCTYPE html><title>t</title><h1>home</h1>")
    (site / "css" / "site.css").write_text("body { margin: 0; }")
    (site / "app.mjs").write_text("export {};")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("[core]")
    os.symlink(outside, site / "leak.txt")
    os.symlink(tmp_path, site / "up")
    return site


def test_serves_the_folders_files_on_loopback(folder: Path) -> None:
    with serve_folder(folder) as base:
        assert urlsplit(base).hostname == "127.0.0.1" and base.endswith("/")
        assert _get(base, "/") == (200, b"<!DOCTYPE html><title>t</title><h1>home</h1>")
        assert _get(base, "/css/site.css")[0] == 200
        conn = http.client.HTTPConnection("127.0.0.1", urlsplit(base).port, timeout=5)
        conn.request("GET", "/app.mjs")
        assert conn.getresponse().getheader("Content-Type") == "text/javascript"
        conn.close()


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/css/../../secret.txt",
        "/leak.txt",  # a symlink to a file outside the folder
        "/up/secret.txt",  # through a symlinked directory
        "/.git/config",
        "/css/",  # no directory listings
    ],
)
def test_nothing_outside_the_folder_is_served(folder: Path, path: str) -> None:
    with serve_folder(folder) as base:
        status, body = _get(base, path)
    assert status == 404 and b"host secret" not in body and b"[core]" not in body


def test_the_server_is_gone_after_the_block(folder: Path) -> None:
    with serve_folder(folder) as base:
        port = urlsplit(base).port
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    with pytest.raises(OSError):
        conn.request("GET", "/")
        conn.getresponse()
    conn.close()
