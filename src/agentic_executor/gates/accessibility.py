"""The accessibility gate: axe-core (WCAG 2 A and AA) in the shared Chromium on every page, plus
Lighthouse's accessibility score.

axe runs through Playwright connected over CDP to Debian's Chromium (never a downloaded browser).
Passes with 0 axe violations and, unless ``lighthouse_min_score`` is 0, a Lighthouse
accessibility score at or above it on every page Lighthouse audits.
"""

from __future__ import annotations

from typing import Any

from agentic_executor.gates.base import Finding, GateContext, GateResult
from agentic_executor.gates.browser import BrowserUnavailable
from agentic_executor.gates.lighthouse import LighthouseUnavailable
from agentic_executor.gates.memo import Memo

DEFAULT_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
NODES_PER_RULE = 10
PAGE_TIMEOUT_MS = 30_000
_axe_memo: Memo[list[Finding]] = Memo()
_SEVERITY = {"critical": "high", "serious": "high", "moderate": "medium", "minor": "low"}


class AccessibilityGate:
    name = "accessibility"

    def run(self, ctx: GateContext) -> GateResult:
        pages = ctx.site.pages[: int(ctx.option("max_pages", 50))]
        if not pages:
            return GateResult(self.name, passed=True, notes=["no HTML pages to check"])
        tags = list(ctx.option("tags", DEFAULT_TAGS))
        found = {p: _axe_memo.get((ctx.site.digest, p, *tags)) if ctx.tools.cache else None for p in pages}
        todo = [p for p, findings in found.items() if findings is None]
        if todo:
            try:
                found.update(_run_axe(ctx, todo, tags))
            except _Unavailable as exc:
                return GateResult.missing_tool(self.name, str(exc))
            for page in todo:
                _axe_memo.put((ctx.site.digest, page, *tags), found[page] or [])
        result = GateResult(self.name, passed=False, findings=[f for p in pages for f in found[p] or []])
        self._lighthouse(ctx, pages, result)
        result.passed = not result.findings
        result.notes.insert(0, f"axe-core on {len(pages)} page(s), tags {', '.join(tags)}")
        return result

    def _lighthouse(self, ctx: GateContext, pages: list[str], result: GateResult) -> None:
        """Add Lighthouse's accessibility score (the lowest page's) and, under the bar, its failing audits."""
        minimum = float(ctx.option("lighthouse_min_score", 90))
        if minimum <= 0:
            return
        try:
            runs = [ctx.tools.lighthouse(p) for p in ctx.tools.lighthouse_pages(pages)]
        except (LighthouseUnavailable, BrowserUnavailable) as exc:
            result.notes.append(f"Lighthouse accessibility score not measured: {exc}")
            return
        scores = []
        axe_rules = {(f.location.split(" ")[0], f.rule.removeprefix("axe/")) for f in result.findings}
        for run in runs:
            score = run.score("accessibility")
            if score is None:
                result.notes.append(f"Lighthouse could not score {run.page}: {run.problem}")
                continue
            scores.append(score)
            if run.page in ctx.tools.lighthouse_reports:
                result.reports.append(ctx.tools.lighthouse_reports[run.page])
            if score < minimum:
                for finding in run.failing_audits("accessibility", below=1.0):
                    if (run.page, finding.rule.removeprefix("lighthouse/")) not in axe_rules:
                        result.findings.append(finding)
                result.findings.append(
                    Finding(
                        "lighthouse/accessibility-score",
                        run.page,
                        f"Lighthouse accessibility score {score:g} is below {minimum:g}",
                        "fix the accessibility findings above",
                        "high",
                    )
                )
        result.score = min(scores) if scores else None


class _Unavailable(Exception):
    pass


def _run_axe(ctx: GateContext, pages: list[str], tags: list[str]) -> dict[str, list[Finding] | None]:
    """axe-core on each page, in one tab of the shared Chromium."""
    try:
        from axe_playwright_python.sync_playwright import Axe
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise _Unavailable(f"{exc.name} is not installed (pip install axe-playwright-python)") from None
    try:
        endpoint = ctx.tools.browser().ws_url
    except BrowserUnavailable as exc:
        raise _Unavailable(str(exc)) from None
    options = {"runOnly": {"type": "tag", "values": tags}, "resultTypes": ["violations"]}
    found: dict[str, list[Finding] | None] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.connect_over_cdp(endpoint)
        context = browser.new_context()
        try:
            tab, axe = context.new_page(), Axe()
            for page in pages:
                tab.goto(ctx.url(page), wait_until="load", timeout=PAGE_TIMEOUT_MS)
                found[page] = _axe_findings(page, axe.run(tab, options=options).response)
        finally:
            context.close()
            browser.close()
    return found


def _axe_findings(page: str, response: dict[str, Any]) -> list[Finding]:
    findings = []
    for violation in response.get("violations", []):
        nodes = violation.get("nodes", [])
        for node in nodes[:NODES_PER_RULE]:
            target = " ".join(_selector(t) for t in node.get("target", []))
            lines = [line.strip() for line in str(node.get("failureSummary", "")).splitlines() if line.strip()]
            summary = " ".join([*lines[:1], "; ".join(lines[1:])])  # "Fix any of the following: a; b; c"
            findings.append(
                Finding(
                    f"axe/{violation.get('id')}",
                    f"{page} {target}".strip(),
                    f"{violation.get('help')} ({violation.get('impact')}): {str(node.get('html', ''))[:160]}",
                    f"{summary} See {violation.get('helpUrl')}".strip(),
                    _SEVERITY.get(str(violation.get("impact")), "high"),
                )
            )
        if len(nodes) > NODES_PER_RULE:
            findings.append(
                Finding(
                    f"axe/{violation.get('id')}",
                    page,
                    f"{len(nodes) - NODES_PER_RULE} more element(s) fail: {violation.get('help')}",
                    f"fix every element the rule names; see {violation.get('helpUrl')}",
                    _SEVERITY.get(str(violation.get("impact")), "high"),
                )
            )
    return findings


def _selector(target: Any) -> str:
    return " >>> ".join(map(str, target)) if isinstance(target, list) else str(target)
