"""The performance gate: Lighthouse's performance score on the site's pages (index.html first).

Lighthouse (the npm CLI, installed by the project) runs in the shared Debian Chromium; each
page's JSON report is kept in the session's report directory. Passes when every audited page
scores at least ``min_score`` (0-100, default 90); the score is the lowest page's.
"""

from __future__ import annotations

from agentic_executor.gates.base import Finding, GateContext, GateResult
from agentic_executor.gates.browser import BrowserUnavailable
from agentic_executor.gates.lighthouse import LighthouseUnavailable

AUDITS_PER_PAGE = 10


class PerformanceGate:
    name = "performance"

    def run(self, ctx: GateContext) -> GateResult:
        pages = ctx.tools.lighthouse_pages(ctx.site.pages)
        if not pages:
            return GateResult(self.name, passed=True, notes=["no HTML pages to audit"])
        minimum = float(ctx.option("min_score", 90))
        result = GateResult(self.name, passed=False)
        scores = []
        for page in pages:
            try:
                run = ctx.tools.lighthouse(page)
            except (LighthouseUnavailable, BrowserUnavailable) as exc:
                return GateResult.missing_tool(self.name, str(exc))
            if page in ctx.tools.lighthouse_reports:
                result.reports.append(ctx.tools.lighthouse_reports[page])
            score = run.score("performance")
            if score is None:
                result.findings.append(
                    Finding(
                        "lighthouse/no-score",
                        page,
                        f"Lighthouse could not measure the page: {run.problem}",
                        "make the page load and paint content (it must render without errors)",
                    )
                )
                continue
            scores.append(score)
            if score < minimum:
                result.findings.append(
                    Finding(
                        "lighthouse/performance-score",
                        page,
                        f"Lighthouse performance score {score:g} is below {minimum:g}",
                        "fix the audits listed for this page (they cost the most score first)",
                    )
                )
                result.findings.extend(run.failing_audits("performance")[:AUDITS_PER_PAGE])
        result.score = min(scores) if scores else None
        result.passed = not result.findings
        skipped = len(ctx.site.pages) - len(pages)
        result.notes.append(
            f"Lighthouse on {len(pages)} page(s)" + (f"; {skipped} more not audited" if skipped else "")
        )
        return result
