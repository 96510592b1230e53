"""The dashboard with auth on (a token typed once, kept in a cookie the API and previews accept),
and its speed: Lighthouse performance >= 90 on a review queue of 20 sessions."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from agentic_executor.gates.browser import Chromium, find_chromium
from agentic_executor.gates.lighthouse import LighthouseUnavailable, find_lighthouse, run_lighthouse

from ..api.conftest import Server, start_server
from ..conftest import make_url, require_tool
from .conftest import VIEWPORTS, check_page

pytestmark = pytest.mark.slow


@pytest.fixture
def locked(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    server = start_server(
        tmp_path / "home",
        make_url("sqlite", tmp_path, request),
        tokens={"reviewer": ("review", "studio"), "submitter": ("submit", "studio"), "other": ("review", "elsewhere")},
    )
    yield server
    server.stop()


def _submit_and_wait(server: Server, n: int, token: str | None = None) -> list[str]:
    with server.client(token) as client:
        ids = [
            client.post(
                "/api/agentic/submit",
                json={"prompt": f"Build a fitness studio page, take {i}", "budget": 1, "type": "template-generation"},
            ).json()["taskId"]
            for i in range(n)
        ]
    server.wait(ids, until=lambda s: s.status == "awaiting_review", timeout=180)
    return ids


def test_auth_on_asks_for_a_token_once_then_pages_previews_and_actions_work(locked: Server, browser: Browser) -> None:
    (session_id,) = _submit_and_wait(locked, 1, locked.tokens["submitter"])
    context = browser.new_context(viewport=dict(zip(("width", "height"), VIEWPORTS["desktop"], strict=True)))
    page: Page = context.new_page()
    try:
        context.add_cookies([{"name": "agx_token", "value": "agx_revoked", "url": locked.base}])
        page.goto(f"{locked.base}/ui/spend")
        expect(page).to_have_url(f"{locked.base}/ui/login?next=%2Fui%2Fspend&expired=1")
        expect(page.locator("#token-error")).to_contain_text("unknown or revoked")
        assert not [c for c in context.cookies() if c["name"] == "agx_token"]  # the stale cookie is dropped
        page.goto(f"{locked.base}/ui/sessions/{session_id}")
        expect(page).to_have_url(f"{locked.base}/ui/login?next=%2Fui%2Fsessions%2F{session_id}")
        check_page(page, "login")
        page.get_by_label("API token").fill("agx_" + secrets.token_urlsafe(32))
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("#token-error")).to_contain_text("unknown or revoked")
        page.get_by_label("API token").fill(locked.tokens["reviewer"])
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(f"{locked.base}/ui/sessions/{session_id}")
        expect(page.locator("#head .badge")).to_have_text("awaiting review")
        cookie = next(c for c in context.cookies() if c["name"] == "agx_token")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"

        page.goto(f"{locked.base}/")
        expect(page.frame_locator("iframe.preview").first.locator("h1")).to_be_visible()  # the cookie, no token in URLs
        page.get_by_role("button", name="Approve").click()
        expect(page.locator("main")).to_contain_text("Nothing is waiting for review")
        assert locked.session(session_id).status == "approved"

        page.get_by_role("button", name="Sign out").click()
        expect(page).to_have_url(f"{locked.base}/ui/login")
        page.goto(f"{locked.base}/ui/spend")
        expect(page).to_have_url(f"{locked.base}/ui/login?next=%2Fui%2Fspend")
    finally:
        context.close()

    # another tenant's reviewer sees neither the session nor its preview
    other = browser.new_context()
    try:
        page = other.new_page()
        page.goto(f"{locked.base}/ui/login")
        page.get_by_label("API token").fill(locked.tokens["other"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.locator("main")).to_contain_text("Nothing is waiting for review")
        assert page.goto(f"{locked.base}/ui/sessions/{session_id}").status == 404
        assert page.goto(f"{locked.base}/preview/{session_id}/").status == 404
    finally:
        other.close()


def test_review_queue_of_twenty_scores_90_on_lighthouse_performance(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    lighthouse = require_tool(find_lighthouse, LighthouseUnavailable)
    server = start_server(tmp_path / "home", make_url("sqlite", tmp_path, request), concurrency=6)
    chromium = Chromium.launch(find_chromium())
    try:
        _submit_and_wait(server, 20)
        run = run_lighthouse(
            lighthouse, f"{server.base}/", "/", port=chromium.port, digest=secrets.token_hex(8), options={}
        )
    finally:
        chromium.close()
        server.stop()
    assert run.problem is None, run.problem
    performance, accessibility = run.score("performance"), run.score("accessibility")
    print(f"review queue of 20: Lighthouse performance {performance}, accessibility {accessibility}")
    assert performance is not None and performance >= 90, run.failing_audits("performance")
    assert accessibility == 100, run.failing_audits("accessibility", below=1.0)
