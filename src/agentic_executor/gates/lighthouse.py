"""Running Lighthouse (the npm CLI) on one page through the shared Chromium, and reading its report.

One run audits both the performance and the accessibility category, so the two gates share it.
Successful runs are memoized per process by (site digest, page, flags) (see ``memo``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agentic_executor.gates.base import Finding
from agentic_executor.gates.browser import tool_env
from agentic_executor.gates.memo import Memo

CATEGORIES = "performance,accessibility"
_CHECKOUT_BIN = Path(__file__).resolve().parents[3] / ".ci" / "node_modules" / ".bin" / "lighthouse"
SERVER_AUDITS = frozenset(
    {"uses-long-cache-ttl", "uses-text-compression", "uses-http2", "server-response-time", "redirects"}
)
"""About the server's headers, not the site: the gates' loopback server is not what goes live."""
_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\(([^)]+)\)")

_reports: Memo[str] = Memo()


class LighthouseUnavailable(Exception):
    """The Lighthouse CLI (or node) is missing; the message says how to install it."""


def find_lighthouse(configured: str = "") -> str:
    if shutil.which("node") is None:
        raise LighthouseUnavailable(
            "node is not installed, and Lighthouse runs on node (Debian: apt-get install nodejs)"
        )
    if configured:
        if Path(configured).is_file():
            return configured
        raise LighthouseUnavailable(f"the configured Lighthouse {configured!r} does not exist")
    if _CHECKOUT_BIN.is_file():  # the version pinned in .ci/package-lock.json, the one CI runs
        return str(_CHECKOUT_BIN)
    found = shutil.which("lighthouse")
    if found:
        return found
    raise LighthouseUnavailable(
        "Lighthouse is not installed (npm ci --prefix .ci in a checkout, or npm i -g lighthouse@12.2.3)"
    )


@dataclass(frozen=True)
class LighthouseRun:
    """One page's report (``data``: Lighthouse's JSON) or why there is none (``error``)."""

    page: str
    data: dict[str, Any] | None = None
    error: str | None = None
    raw: str = ""

    def score(self, category: str) -> float | None:
        """The category's score on 0-100, None when the run failed or did not score it."""
        if self.data is None or self.data.get("runtimeError"):
            return None
        value = self.data.get("categories", {}).get(category, {}).get("score")
        return None if value is None else round(100 * float(value), 1)

    @property
    def problem(self) -> str | None:
        """Why this page has no usable score: the CLI failed, or Lighthouse reported a runtime error."""
        if self.error:
            return self.error
        runtime = (self.data or {}).get("runtimeError")
        return f"{runtime.get('code')}: {runtime.get('message')}" if runtime else None

    def failing_audits(self, category: str, below: float = 0.9) -> list[Finding]:
        """The category's scored audits under ``below`` (0-1), heaviest first, as findings."""
        if self.data is None:
            return []
        refs = self.data.get("categories", {}).get(category, {}).get("auditRefs", [])
        audits = self.data.get("audits", {})
        failing = []
        for ref in sorted(refs, key=lambda r: -float(r.get("weight", 0))):
            if ref.get("id") in SERVER_AUDITS:
                continue
            audit = audits.get(ref.get("id"), {})
            score = audit.get("score")
            if score is None or audit.get("scoreDisplayMode") in ("manual", "notApplicable", "informative", "error"):
                continue
            if float(score) >= below:
                continue
            shown = audit.get("displayValue")
            failing.append(
                Finding(
                    rule=f"lighthouse/{audit.get('id')}",
                    location=self.page,
                    message=f"{audit.get('title')}"
                    + (f": {shown}" if shown else "")
                    + f" (score {round(100 * score)})",
                    fix=_MARKDOWN_LINK.sub(r"\1 (\2)", str(audit.get("description", ""))),
                    severity="high" if float(ref.get("weight", 0)) > 0 else "medium",
                )
            )
        return failing


def _flags(options: dict[str, Any]) -> list[str]:
    flags = [
        f"--only-categories={CATEGORIES}",
        "--disable-full-page-screenshot",
        f"--max-wait-for-load={int(1000 * float(options.get('timeout_s', 120)) / 2)}",
    ]
    if options.get("preset") == "desktop":
        flags.append("--preset=desktop")
    return flags


def memoized(page: str, digest: str, options: dict[str, Any]) -> LighthouseRun | None:
    """The report of an earlier successful run on identical site content, if this process has one."""
    raw = _reports.get((digest, page, *_flags(options)))
    return None if raw is None else LighthouseRun(page, json.loads(raw), raw=raw)


def run_lighthouse(
    executable: str, url: str, page: str, *, port: int, digest: str, options: dict[str, Any]
) -> LighthouseRun:
    """Audit ``url`` in the Chromium listening on ``port``; a successful run is memoized by ``digest``."""
    flags = _flags(options)
    with tempfile.TemporaryDirectory(prefix="agx-lighthouse-") as tmp:
        output = Path(tmp, "report.json")
        command = [
            executable,
            url,
            f"--port={port}",
            "--hostname=127.0.0.1",
            "--output=json",
            f"--output-path={output}",
            "--quiet",
            *flags,
        ]
        env = {**tool_env(tmp), "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
        try:
            done = subprocess.run(
                command,
                cwd=tmp,
                env=env,
                capture_output=True,
                text=True,
                timeout=float(options.get("timeout_s", 120)),
                check=False,
            )
        except subprocess.TimeoutExpired:
            return LighthouseRun(page, error=f"Lighthouse took longer than {options.get('timeout_s', 120)} s")
        if done.returncode != 0 or not output.exists():
            tail = " | ".join((done.stderr or done.stdout).strip().splitlines()[-3:])
            return LighthouseRun(page, error=f"Lighthouse exited {done.returncode}: {tail or 'no output'}")
        raw = output.read_text()
    run = LighthouseRun(page, json.loads(raw), raw=raw)
    if run.problem is None:
        _reports.put((digest, page, *flags), raw)
    return run
