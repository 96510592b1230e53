"""The browser that runs the agent's JavaScript, and Lighthouse, get none of our secrets and reach
nothing but the preview."""

from __future__ import annotations

import http.server
import socketserver
import threading
from pathlib import Path

import pytest

from agentic_executor.gates.browser import Chromium, find_chromium, tool_env


def test_tool_env_keeps_only_what_the_tools_need(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-secret")
    monkeypatch.setenv("AGX_DATABASE_URL", "postgresql://user:pw@db/agx")
    monkeypatch.setenv("LANG", "C.UTF-8")
    env = tool_env(str(tmp_path))
    assert env["HOME"] == str(tmp_path) and env["LANG"] == "C.UTF-8" and env["PATH"]
    assert not {"ANTHROPIC_API_KEY", "AGX_DATABASE_URL"} & env.keys()


def test_the_gate_browser_process_has_no_provider_key(monkeypatch: pytest.MonkeyPatch, browser_tools: None) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-secret")
    chromium = Chromium.launch(find_chromium())
    try:
        environ = Path(f"/proc/{chromium.process.pid}/environ").read_bytes()
    finally:
        chromium.close()
    assert b"ANTHROPIC_API_KEY" not in environ and b"sk-ant-api03-secret" not in environ
    assert b"HOME=" in environ


def _serve(body: bytes, hits: list[str]) -> socketserver.ThreadingTCPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_the_agents_javascript_reaches_only_the_preview(browser_tools: None) -> None:
    """Other loopback services (our API, a database's HTTP port) and the internet are out of reach."""
    from playwright.sync_api import sync_playwright

    other_hits: list[str] = []
    other = _serve(b"secret", other_hits)
    port = other.server_address[1]
    page_html = (
        f"<h1>studio</h1><img src='http://127.0.0.1:{port}/img'>"
        f"<script>fetch('http://127.0.0.1:{port}/fetch'); fetch('http://localhost:{port}/fetch');"
        "fetch('http://example.com/'); new Image().src = 'http://10.0.0.1/beacon';</script>"
    ).encode()
    preview_hits: list[str] = []
    preview = _serve(page_html, preview_hits)
    origin = f"http://127.0.0.1:{preview.server_address[1]}"
    chromium = Chromium.launch(find_chromium(), only_origin=origin)
    try:
        with sync_playwright() as p:
            browser = p.chromium.connect_over_cdp(f"http://127.0.0.1:{chromium.port}")
            page = browser.new_page()
            page.goto(f"{origin}/index.html")
            page.wait_for_timeout(1000)
            assert page.locator("h1").inner_text() == "studio"
            browser.close()
    finally:
        chromium.close()
        for server in (other, preview):
            server.shutdown()
            server.server_close()
    assert "/index.html" in preview_hits
    assert other_hits == []
