"""The preview: the workspace served read-only, confined to it, never ``.git``, right content types."""

from __future__ import annotations

import http.client
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .conftest import Server

SQLITE_ONLY = pytest.mark.parametrize("api_server", ["sqlite"], indirect=True)


def raw_get(server: Server, path: str, token: str) -> tuple[int, bytes]:
    """GET ``path`` byte for byte (httpx would normalize ``..`` away)."""
    host = urlsplit(server.base)
    conn = http.client.HTTPConnection(host.hostname or "127.0.0.1", host.port, timeout=10)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    conn.putheader("Authorization", f"Bearer {token}")
    conn.endheaders()
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, body


@SQLITE_ONLY
def test_the_preview_serves_the_workspace_and_nothing_else(api_server: Server, tmp_path: Path) -> None:
    token = api_server.token("submit", "preview")
    with api_server.client(token) as client:
        sid = client.post("/api/agentic/submit", json={"prompt": "Build a page", "budget": 1}).json()["taskId"]
    (row,) = api_server.wait([sid])
    workspace = Path(row.workspace or "")
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    (workspace / "assets").mkdir()
    (workspace / "assets" / "site.css").write_text("body { color: black }")
    (workspace / "assets" / "app.js").write_text("console.log(1)")
    (workspace / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    (workspace / "data.bin").write_bytes(b"\x00\x01")
    os.symlink(secret, workspace / "escape.txt")
    os.symlink(tmp_path, workspace / "escape-dir")
    os.symlink("assets/site.css", workspace / "inside.css")
    os.link(secret, workspace / "hardlink.txt")

    with api_server.client(token, follow_redirects=False) as client:
        root = client.get(f"/preview/{sid}")
        assert root.status_code == 307 and root.headers["location"] == f"/preview/{sid}/"
        page = client.get(f"/preview/{sid}/")
        assert page.status_code == 200 and page.text == (workspace / "index.html").read_text()
        assert page.headers["content-type"] == "text/html; charset=utf-8"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers["content-security-policy"].startswith("sandbox")
        for path, kind in [
            ("assets/site.css", "text/css; charset=utf-8"),
            ("assets/app.js", "text/javascript; charset=utf-8"),
            ("logo.svg", "image/svg+xml; charset=utf-8"),
            ("data.bin", "application/octet-stream"),
            ("inside.css", "text/css; charset=utf-8"),  # a symlink that stays inside is fine
        ]:
            r = client.get(f"/preview/{sid}/{path}")
            assert r.status_code == 200 and r.headers["content-type"] == kind, path
        assert client.get(f"/preview/{sid}/assets/").status_code == 404  # a directory without index.html

    refused = [
        "escape.txt",
        "escape-dir/secret.txt",
        "hardlink.txt",
        ".git/config",
        ".git/HEAD",
        ".GIT/config",
        "assets/../.git/config",
        "../../../../etc/passwd",
        "%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "assets/%2e%2e/%2e%2e/secret.txt",
        "%2F etc/passwd".replace(" ", ""),
        "//etc/passwd",
        "missing.html",
    ]
    for path in refused:
        status, body = raw_get(api_server, f"/preview/{sid}/{path}", token)
        assert status == 404, (path, status)
        assert b"TOP-SECRET-CONTENT" not in body and b"root:" not in body and b"[core]" not in body
