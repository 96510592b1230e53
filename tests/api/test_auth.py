"""Bearer tokens and tenants: a token sees only its own tenant; scopes limit what it may do."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentic_executor.api.auth import create_token, hash_token
from agentic_executor.api.server import serve
from agentic_executor.app import App
from agentic_executor.errors import BadInput
from agentic_executor.store import queries

from .conftest import Server


def test_another_tenants_session_events_preview_and_convoy_are_404(api_server: Server) -> None:
    mine = api_server.token("submit", "tenancy-1")
    theirs = api_server.token("admin", "tenancy-2")
    with api_server.client(mine) as client:
        task = client.post("/api/agentic/submit", json={"prompt": "Build a page", "budget": 1}).json()
        spec = {"title": "t", "description": "Build a page"}
        convoy = client.post("/api/agentic/convoy", json={"name": "c", "budget": 1, "tasks": [spec]}).json()
    sid = task["taskId"]
    api_server.wait([sid, *convoy["tasks"]])
    paths = [
        f"/api/agentic/sessions/{sid}",
        f"/tasks/{sid}",
        f"/api/agentic/sessions/{sid}/events?follow=false",
        f"/preview/{sid}/",
        f"/preview/{sid}/index.html",
        convoy["statusUrl"],
        f"/api/agentic/convoys/{convoy['convoyId']}",
    ]
    with api_server.client(mine) as client:
        for path in paths:
            assert client.get(path).status_code == 200, path
    with api_server.client(theirs) as client:
        for path in paths:
            r = client.get(path)
            assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path
        for action in ("pause", "resume", "cancel", "approve"):
            assert client.post(f"/api/agentic/sessions/{sid}/{action}").status_code == 404, action
        assert client.post(f"/api/agentic/sessions/{sid}/reject", json={"feedback": "no"}).status_code == 404
        assert client.post(f"/api/agentic/sessions/{sid}/budget", json={"add": 1}).status_code == 404
        listed = client.get("/api/agentic/sessions").json()
        assert listed["total"] == 0 and listed["sessions"] == []
        assert client.get("/api/agentic/review").json()["total"] == 0
        assert client.get("/api/agentic/metrics/top-expensive").json()["sessions"] == []
    with api_server.client(mine) as client:
        listed = client.get("/api/agentic/sessions").json()
        assert {s["id"] for s in listed["sessions"]} == {sid, *convoy["tasks"]}


def test_tokens_are_required_and_scoped(api_server: Server) -> None:
    reader = api_server.token("read", "scopes")
    with api_server.client() as anonymous:
        r = anonymous.get("/api/agentic/sessions")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert r.json()["error"]["code"] == "unauthorized"
        assert anonymous.get("/docs").status_code == 200  # the docs are public
    with api_server.client("agx_not-a-token") as stranger:
        assert stranger.get("/api/agentic/sessions").status_code == 401
    with api_server.client(reader) as client:
        me = client.get("/api/agentic/auth/whoami").json()
        assert me["tenant"] == "scopes" and me["scopes"] == ["read"] and me["authRequired"] is True
        r = client.post("/api/agentic/submit", json={"prompt": "x", "budget": 1})
        assert r.status_code == 403 and "--scope submit" in r.json()["error"]["message"]
        assert client.get("/api/agentic/review").status_code == 403
        assert client.get("/metrics").status_code == 403
    # browsers (EventSource, an <iframe> preview) cannot send headers: a GET may carry the token
    with api_server.client() as anonymous:
        assert anonymous.get("/api/agentic/sessions", params={"access_token": reader}).status_code == 200
        assert anonymous.post("/api/agentic/submit", params={"access_token": reader}, json={}).status_code == 401


def agx(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentic_executor.cli_serve", *args], capture_output=True, text=True, timeout=60
    )


def test_token_commands_store_only_a_hash() -> None:
    created = agx("token", "create", "--name", "cli-made", "--scope", "read", "--tenant", "cli")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("agx_") and "not shown again" in created.stderr
    listed = agx("token", "list")
    assert "cli-made" in listed.stdout and secret not in listed.stdout
    assert agx("token", "revoke", "cli-made").returncode == 0
    app = App.open()
    try:
        with app.db.read() as conn:
            (stored,) = queries.list_tokens(conn)
            assert queries.token_by_hash(conn, hash_token(secret)) is None  # revoked
        assert stored.name == "cli-made" and stored.revoked_at is not None
        with pytest.raises(BadInput, match="unknown scope"):
            create_token(app, "x", "root")
    finally:
        app.close()


def test_without_tokens_the_server_stays_on_loopback() -> None:
    # a fresh home has no token: any non-loopback address is refused before anything listens
    app = App.open()
    try:
        with pytest.raises(BadInput, match="no API token exists") as refused:
            serve(app, host="0.0.0.0", worker=False)
        assert "127.0.0.1" in refused.value.message
    finally:
        app.close()
