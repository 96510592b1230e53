"""The tools the gates of one run share: one Chromium, started on first use, and the Lighthouse runs.

Gates run in threads. Chromium starts once (under a lock) and stops when the run ends; Lighthouse
runs one page at a time (it does not support parallel runs in one browser), and each page's run
is kept for the rest of the gate run, so the performance and the accessibility gate read the same
report. Reports are written to the run's report directory once per page.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentic_executor.gates.base import page_url
from agentic_executor.gates.browser import BrowserUnavailable, Chromium, find_chromium
from agentic_executor.gates.lighthouse import (
    LighthouseRun,
    find_lighthouse,
    memoized,
    run_lighthouse,
)


class SharedTools:
    def __init__(
        self,
        *,
        chromium: str = "",
        lighthouse: str = "",
        lighthouse_options: Mapping[str, Any] | None = None,
        preview_url: str = "",
        digest: str = "",
        report_dir: Path | None = None,
        cache: bool = True,
    ) -> None:
        self._chromium_setting, self._lighthouse_setting = chromium, lighthouse
        self.lighthouse_options = dict(lighthouse_options or {})
        self.preview_url, self.digest, self.report_dir = preview_url, digest, report_dir
        self.cache = cache
        """Whether browser gates may reuse results memoized for identical site content (``memo``)."""
        self._browser: Chromium | None = None
        self._browser_error: str | None = None
        self._browser_lock = threading.Lock()
        self._lighthouse_lock = threading.Lock()
        self._runs: dict[str, LighthouseRun] = {}
        self.lighthouse_reports: dict[str, str] = {}
        """page → path of its kept JSON report."""

    # ---- Chromium ---------------------------------------------------------------------------
    def browser(self) -> Chromium:
        """The shared Chromium, launched on first call; raises BrowserUnavailable."""
        with self._browser_lock:
            if self._browser is None and self._browser_error is None:
                try:
                    self._browser = Chromium.launch(find_chromium(self._chromium_setting), only_origin=self.preview_url)
                except BrowserUnavailable as exc:
                    self._browser_error = str(exc)
            if self._browser is None:
                raise BrowserUnavailable(self._browser_error or "Chromium is not available")
            return self._browser

    def close(self) -> None:
        with self._browser_lock:
            if self._browser is not None:
                self._browser.close()
                self._browser = None

    # ---- Lighthouse -------------------------------------------------------------------------
    def lighthouse_pages(self, pages: list[str]) -> list[str]:
        return pages[: int(self.lighthouse_options.get("max_pages", 5))]

    def lighthouse(self, page: str) -> LighthouseRun:
        """This run's Lighthouse report of ``page``; raises LighthouseUnavailable / BrowserUnavailable."""
        executable = find_lighthouse(self._lighthouse_setting)
        with self._lighthouse_lock:
            if page not in self._runs:
                run = memoized(page, self.digest, self.lighthouse_options) if self.cache else None
                if run is None:
                    run = run_lighthouse(
                        executable,
                        page_url(self.preview_url, page),
                        page,
                        port=self.browser().port,
                        digest=self.digest,
                        options=self.lighthouse_options,
                    )
                self._runs[page] = run
                self._keep(run)
            return self._runs[page]

    def _keep(self, run: LighthouseRun) -> None:
        if self.report_dir is None or not run.raw:
            return
        self.report_dir.mkdir(parents=True, exist_ok=True)
        path = self.report_dir / f"lighthouse-{re.sub(r'[^A-Za-z0-9._-]+', '_', run.page)}.json"
        path.write_text(run.raw)
        self.lighthouse_reports[run.page] = str(path)
