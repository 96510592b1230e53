"""The dashboard, driven like a person would: Chromium against a real ``agx serve`` and the fake model.

Submit through the form (and see the API's errors beside the fields), watch the session's page
update live until the work awaits review, reject it with feedback, watch the agent resume and
finish, approve it; submit a convoy and watch its three tasks progress. Every page passes axe
(WCAG 2.1 A/AA) at desktop and phone sizes and is screenshotted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from agentic_executor.store import queries

from ..api.conftest import SPEND, Server, start_server
from ..conftest import make_url
from .conftest import check_page

pytestmark = pytest.mark.slow
LIVE_TIMEOUT = 90_000


@pytest.fixture
def server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Server]:
    # a slow stream so that a session takes a few seconds: long enough to watch it live
    started = start_server(
        tmp_path / "home", make_url("sqlite", tmp_path, request), stream_delay=0.015, env={"AGX_MAX_TOKENS": "4000"}
    )
    yield started
    started.stop()


def tab_to(page: Page, target: Locator, presses: int = 80) -> None:
    """Move the focus to ``target`` with the Tab key alone (it must be reachable, in order)."""
    for _ in range(presses):
        if target.evaluate("el => el === document.activeElement"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{target} cannot be reached with Tab")


def _status(page: Page) -> str:
    return page.locator("#head .badge").first.inner_text()


def test_submit_watch_reject_resume_approve(server: Server, page: Page) -> None:
    page.goto(f"{server.base}/ui/submit")
    check_page(page, "submit")

    # the API's errors appear beside the fields they name, and nothing is submitted
    task = page.locator("#task-form")
    task.get_by_label("Title").fill("Pulse & Pine studio page")
    task.get_by_role("button", name="Submit task").click()
    expect(page.locator("#t-prompt-error")).to_be_visible()
    expect(page.locator("#t-budget-error")).to_contain_text("required")
    expect(page.locator("#t-budget")).to_have_attribute("aria-invalid", "true")
    check_page(page, "submit-errors")
    task.get_by_label("Budget in dollars").fill("250000")
    task.get_by_role("button", name="Submit task").click()
    expect(page.locator("#t-budget-error")).to_contain_text("less than or equal to 100000")
    with server.app.db.read() as conn:
        assert queries.list_sessions_page(conn, tenant=None, limit=1).total == 0

    task.get_by_label("Type").select_option("template-generation")
    task.get_by_label("Prompt").fill("Build a one-page site for a fitness studio")
    task.get_by_label("Budget in dollars").fill("2")
    task.get_by_label("Acceptance criteria").fill("A class schedule table\nMembership tiers")
    task.get_by_role("button", name="Submit task").click()
    page.wait_for_url(re.compile(r"/ui/sessions/agt_"))
    session_id = page.url.rsplit("/", 1)[1]
    assert _status(page) != "awaiting review", "the session finished before its page opened: slow it down"
    page.evaluate("window.__sameDocument = true")

    # live: the page follows the event stream, without a reload
    expect(page.locator("#timeline")).to_contain_text("Iteration 1 done", timeout=LIVE_TIMEOUT)
    expect(page.locator("#head .badge")).to_have_text("awaiting review", timeout=LIVE_TIMEOUT)
    expect(page.locator("#timeline")).to_contain_text("Gate security: passed")
    expect(page.locator("#live-note")).to_contain_text("Latest:")
    assert page.evaluate("window.__sameDocument") is True
    rows = page.locator("#spend tbody tr")
    first_round = rows.count()
    assert first_round >= 2
    assert page.locator("#spend svg polyline").count() == 1
    expect(page.locator("#conversation details.tool").first).not_to_have_attribute("open", "")
    check_page(page, "session-awaiting-review")

    # the review queue lists it with its gates, summary and preview
    page.goto(f"{server.base}/")
    card = page.locator("article.card", has=page.locator(f'a[href="/ui/sessions/{session_id}"]'))
    expect(card).to_contain_text("security")
    expect(card).to_contain_text("passed")
    expect(card.locator("iframe.preview")).to_have_attribute("src", re.compile(f"/preview/{session_id}/"))
    frame = page.frame_locator("iframe.preview").first
    expect(frame.locator("h1")).to_be_visible()
    check_page(page, "review-queue")

    # reject with feedback from the session page: the agent resumes and finishes again
    page.goto(f"{server.base}/ui/sessions/{session_id}")
    page.evaluate("window.__sameDocument = true")
    tab_to(page, page.get_by_label("Feedback for the agent"))  # by keyboard alone
    page.keyboard.type("Add the studio's opening hours.")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Reject with feedback"
    page.keyboard.press("Enter")
    expect(page.locator("#timeline")).to_contain_text("Reviewer rejected", timeout=LIVE_TIMEOUT)
    expect(page.locator("#timeline")).to_contain_text("opening hours")
    expect(page.locator("#head .badge")).to_have_text("awaiting review", timeout=LIVE_TIMEOUT)
    assert rows.count() > first_round
    assert page.evaluate("window.__sameDocument") is True

    tab_to(page, page.get_by_role("button", name="Approve"))
    page.keyboard.press("Enter")
    expect(page.locator("#head .badge")).to_have_text("approved", timeout=LIVE_TIMEOUT)
    expect(page.locator("#review")).to_be_hidden()
    assert server.session(session_id).status == "approved"
    check_page(page, "session-approved")

    page.goto(f"{server.base}/ui/sessions")
    expect(page.locator("tbody")).to_contain_text("approved")
    check_page(page, "sessions")
    page.goto(f"{server.base}/ui/spend")
    expect(page.locator("main")).to_contain_text(session_id)
    check_page(page, "spend")


def test_convoy_of_three_progresses_live(server: Server, page: Page) -> None:
    page.goto(f"{server.base}/ui/submit")
    form = page.locator("#convoy-form")
    form.get_by_label("Name").fill("Studio launch")
    form.get_by_label("Total budget in dollars").fill("3")
    form.get_by_label("Task 2 title").fill("Schedule page")  # a row without its description
    form.get_by_role("button", name="Submit convoy").click()
    expect(page.locator('[data-error-for="tasks.1.description"]')).to_be_visible()
    for n, name in enumerate(["Home page", "Schedule page", "Pricing page"], start=1):
        form.get_by_label(f"Task {n} title").fill(name)
        form.get_by_label(f"Task {n} description").fill(f"Build the studio's {name.lower()}")
    form.get_by_role("button", name="Submit convoy").click()
    page.wait_for_url(re.compile(r"/ui/convoys/"))
    page.evaluate("window.__sameDocument = true")
    tasks = page.locator("#convoy tbody tr")
    expect(tasks).to_have_count(3)
    seen: set[str] = set()
    for _ in range(int(LIVE_TIMEOUT / 250)):
        badges = page.locator("#convoy tbody .badge").all_inner_texts()
        seen.update(badges)
        if badges == ["awaiting review"] * 3:
            break
        page.wait_for_timeout(250)
    assert page.locator("#convoy tbody .badge").all_inner_texts() == ["awaiting review"] * 3
    assert seen & {"queued", "running"}, f"never saw the tasks under way: {seen}"
    expect(page.locator("#convoy .meta .badge")).to_have_text("completed", timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
    check_page(page, "convoy")


def test_browser_status_urls_open_pages_and_api_clients_get_json(server: Server) -> None:
    with server.client() as client:
        submitted = client.post("/api/agentic/submit", json={"prompt": "Build a page", "budget": 1}).json()
        as_json = client.get(submitted["statusUrl"])
        as_page = client.get(submitted["statusUrl"], headers={"Accept": "text/html,application/xhtml+xml"})
        missing = client.get("/ui/sessions/agt_nope")
        asset = client.get("/ui/static/dashboard.js")
        unknown_asset = client.get("/ui/static/secrets.py")
        login = client.get("/ui/login", params={"next": "/ui/spend"})
        away = client.get("/ui/login", params={"next": "//evil.example/"})
    assert as_json.json()["session"]["id"] == submitted["taskId"]
    assert as_page.status_code == 303 and as_page.headers["location"] == f"/ui/sessions/{submitted['taskId']}"
    assert missing.status_code == 404 and "no session" in missing.text and "<html" in missing.text
    assert asset.headers["cache-control"].startswith("public") and "immutable" in asset.headers["cache-control"]
    assert unknown_asset.status_code == 404 and unknown_asset.json()["error"]["code"] == "not_found"
    assert login.status_code == 303 and login.headers["location"] == "/ui/spend"  # auth is off: no sign-in
    assert away.headers["location"] == "/"
    openapi = httpx.get(f"{server.base}/openapi.json").json()
    assert not [p for p in openapi["paths"] if p == "/" or p.startswith("/ui")], "pages are not API operations"


def test_a_cross_site_form_cannot_drive_the_open_api(server: Server) -> None:
    with server.client() as client:
        submitted = client.post("/api/agentic/submit", json={"prompt": "Build a page", "budget": 1}).json()
        forged = client.post(
            f"/api/agentic/sessions/{submitted['taskId']}/cancel", headers={"Origin": "https://evil.example"}
        )
        rebound = client.get("/api/agentic/sessions", headers={"Host": "evil.example"})
        own = client.post(f"/api/agentic/sessions/{submitted['taskId']}/pause", headers={"Origin": server.base})
    assert forged.status_code == 403 and "evil.example" in forged.json()["error"]["message"]
    assert rebound.status_code == 403 and "loopback" in rebound.json()["error"]["message"]
    assert own.status_code == 200
    assert server.session(submitted["taskId"]).cancel_requested is False


def test_pause_resume_add_budget_and_cancel_from_the_session_page(server: Server, page: Page) -> None:
    with server.client() as client:  # a model that writes prose for ever: only the budget stops it
        task = client.post("/api/agentic/submit", json={"prompt": f"Write {SPEND}", "budget": 0.05}).json()
    page.goto(f"{server.base}/ui/sessions/{task['taskId']}")
    page.evaluate("window.__sameDocument = true")
    badge = page.locator("#head .badge")
    expect(badge).to_have_text("running", timeout=LIVE_TIMEOUT)
    page.get_by_role("button", name="Pause").click()
    expect(badge).to_have_text("paused", timeout=LIVE_TIMEOUT)
    page.get_by_role("button", name="Resume").click()
    expect(badge).to_have_text(re.compile("queued|running"))
    expect(badge).to_have_text("budget exhausted", timeout=LIVE_TIMEOUT)
    expect(page.locator("#timeline")).to_contain_text("Budget warning")
    spent = server.session(task["taskId"])
    assert spent.consumed_micros <= spent.budget_micros

    page.get_by_label("Add budget ($)").fill("-1")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#add-error")).to_contain_text("greater than or equal to")
    page.get_by_label("Add budget ($)").fill("1")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("#head")).to_contain_text("of $1.05")
    expect(page.locator("#timeline")).to_contain_text("Budget added: $1.00")
    page.get_by_role("button", name="Resume").click()  # the seed's fix for a 402: add budget, then resume
    expect(badge).to_have_text(re.compile("queued|running"))
    page.get_by_role("button", name="Pause").click()  # before the new budget runs out too
    expect(badge).to_have_text("paused", timeout=LIVE_TIMEOUT)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Cancel").click()
    expect(badge).to_have_text("cancelled", timeout=LIVE_TIMEOUT)
    assert server.session(task["taskId"]).status == "cancelled"
    assert page.evaluate("window.__sameDocument") is True
    check_page(page, "session-stopped")


XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>\"'><svg onload=alert(3)>"


def test_what_the_agent_and_the_submitter_write_is_shown_as_text(server: Server, page: Page) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    with server.client() as client:
        task = client.post(
            "/api/agentic/submit",
            json={"prompt": f"Build a page {XSS}", "title": f"Studio {XSS}", "budget": 1, "acceptanceCriteria": [XSS]},
        ).json()
    server.wait([task["taskId"]], until=lambda s: s.status == "awaiting_review")
    for path in ("/ui/spend", "/ui/sessions", "/", f"/ui/sessions/{task['taskId']}"):
        page.goto(f"{server.base}{path}")
        page.wait_for_timeout(300)
        assert page.locator("main img[src=x], main script, main svg[onload]").count() == 0, path
        html = page.content()
        assert "<script>alert(2)</script>" not in html, path
    expect(page.locator("main")).to_contain_text("<script>alert(2)</script>")  # shown as the text it is
    assert dialogs == []
