"""End to end: a session whose first claim fails the accessibility gate is rejected with axe's findings,
fixes them, and completes (the fake Messages API's ``a11y_fixer`` scenario, SQLite)."""

from __future__ import annotations

from pathlib import Path

from agentic_executor.app import App
from agentic_executor.config import Settings
from agentic_executor.engine.loop import run_session
from agentic_executor.engine.submit import submit_task
from agentic_executor.providers.anthropic import AnthropicProvider
from agentic_executor.store import queries
from agentic_executor.testing import FakeModelServer
from agentic_executor.views import session_status


def test_rejected_with_axe_findings_then_fixed_then_completed(agx_home: Path, browser_tools: None) -> None:
    app = App.open(Settings(home=agx_home, database_url=f"sqlite:///{agx_home / 'agx.db'}", retry_base_delay=0.01))
    try:
        with FakeModelServer(scenario="a11y_fixer") as server:
            provider = AnthropicProvider(api_key="test", base_url=server.url_for("a11y_fixer"))
            try:
                session = submit_task(
                    app,
                    "Build the fitness studio page with the studio's logo",
                    5.0,
                    criteria=["Homepage renders with studio name", "All quality gates pass"],
                    task_type="template-generation",
                )
                status = run_session(app, session.id, provider)
            finally:
                provider.close()
        report = session_status(app, session.id)
        with app.db.transaction() as conn:
            messages = queries.load_messages(conn, session.id)
    finally:
        app.close()

    assert status == "awaiting_review"
    events = report["events"]
    types = [e["type"] for e in events]
    assert types.count("completion_claimed") == 2
    assert types.index("completion_rejected") < types.index("completion_approved")

    rejected = next(e["data"] for e in events if e["type"] == "completion_rejected")
    a11y_actions = [a for a in rejected["required_actions"] if a.startswith("accessibility: ")]
    assert any("axe/image-alt at index.html img" in a for a in a11y_actions)
    assert any("axe/color-contrast at index.html .tagline" in a for a in a11y_actions)
    assert not [a for a in rejected["required_actions"] if not a.startswith("accessibility: ")]  # only a11y failed
    gates = {c["check"]: c["passed"] for c in rejected["checks"] if c["check"].startswith("gate:")}
    assert gates == {"gate:canon": True, "gate:accessibility": False, "gate:performance": True, "gate:security": True}
    approved = next(e["data"] for e in events if e["type"] == "completion_approved")
    assert all(c["passed"] for c in approved["checks"])

    # the agent was told what axe found, in the rejection it received
    rejection = next(
        b["content"]
        for m in messages
        if m["role"] == "user" and isinstance(m["content"], list)
        for b in m["content"]
        if b.get("type") == "tool_result" and b.get("is_error") and "COMPLETION REJECTED" in str(b.get("content"))
    )
    assert "axe/image-alt" in rejection and "axe/color-contrast" in rejection

    page = (Path(report["session"]["workspace"]) / "index.html").read_text()
    assert 'alt="Pulse &amp; Pine logo"' in page and "#595959" in page
    claims = sorted((agx_home / "reports" / session.id).glob("*/gates.json"))
    assert len(claims) == 2  # each claim's gate results and Lighthouse reports are kept with the session
    assert (claims[0].parent / "lighthouse-index.html.json").is_file()
