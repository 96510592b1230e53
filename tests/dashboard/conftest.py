"""Fixtures for the dashboard tests: Debian's Chromium driven by Playwright (never ``playwright
install``), axe on every page, and screenshots at desktop and phone sizes.

Screenshots go to ``build/screenshots`` (or ``$AGX_SCREENSHOTS``), which git ignores: look at
them after a run. Without Chromium the tests are skipped with the reason, except in CI.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright

from agentic_executor.gates.browser import CHROME_FLAGS, BrowserUnavailable, find_chromium

from ..conftest import require_tool

VIEWPORTS = {"desktop": (1280, 800), "phone": (390, 844)}
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SHOTS = Path(os.environ.get("AGX_SCREENSHOTS") or Path(__file__).resolve().parents[2] / "build" / "screenshots")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    # Module scope: a sync Playwright left running would make every later sync_playwright() in
    # this process fail ("using Playwright Sync API inside the asyncio loop").
    executable = require_tool(find_chromium, BrowserUnavailable)
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=executable, args=[f for f in CHROME_FLAGS if f != "--headless"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=dict(zip(("width", "height"), VIEWPORTS["desktop"], strict=True)))
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    context.close()


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now."""
    result = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG}})
    return [
        {"id": v["id"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result.response["violations"]
    ]


def check_page(page: Page, name: str) -> None:
    """No axe violation, at either size; a full-page screenshot at both sizes."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    try:
        for size, (width, height) in VIEWPORTS.items():
            page.set_viewport_size({"width": width, "height": height})
            violations = axe_violations(page)
            assert not violations, f"{name} at {size}: {violations}"
            page.screenshot(path=str(SHOTS / f"{name}-{width}x{height}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} at {size} scrolls sideways by {overflow}px"
    finally:
        if original:
            page.set_viewport_size(original)
