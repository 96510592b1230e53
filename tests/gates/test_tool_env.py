"""The browser that runs the agent's JavaScript, and Lighthouse, get none of our secrets."""

from __future__ import annotations

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
