"""The four gates on the fixture sites, with the real tools: one site passes everything, and each
failing site fails its gate for the reason it was built with. Each site is checked once per module."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from agentic_executor.gates import Gate, GateResult, get_gate
from agentic_executor.gates.browser import Chromium
from agentic_executor.gates.config import GatesConfig
from agentic_executor.gates.memo import clear_memos
from agentic_executor.gates.runner import run_gates
from agentic_executor.testing.content import studio_page

from .conftest import copy_site

ALL = ("canon", "accessibility", "performance", "security")
AWS_KEY = "AKIA" + "IOSFODNN7EXAMPLE"  # AWS's documented example key, split so this file holds none


def _gates(*names: str) -> list[Gate]:
    gates = [get_gate(n) for n in names]
    assert all(g is not None for g in gates)
    return [g for g in gates if g is not None]


def _by_gate(results: list[GateResult]) -> dict[str, GateResult]:
    return {r.gate: r for r in results}


def _rules(result: GateResult) -> set[str]:
    return {f.rule for f in result.findings}


class Run:
    def __init__(self, workspace: Path, results: list[GateResult], wall_s: float, launches: int) -> None:
        self.workspace, self.results, self.wall_s, self.launches = workspace, results, wall_s, launches
        self.by_gate = _by_gate(results)


def _run(tmp: Path, workspace: Path, names: tuple[str, ...]) -> Run:
    clear_memos()  # measure real tool runs, not an earlier test's
    launches: list[int] = []
    original = Chromium.launch.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Chromium], executable: str, **options: str) -> Chromium:
        launches.append(1)
        return original(cls, executable, **options)  # type: ignore[no-any-return]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Chromium, "launch", classmethod(counting))
        started = time.perf_counter()
        results = run_gates(workspace, _gates(*names), task_type="template-generation", report_dir=tmp / "reports")
    return Run(workspace, results, time.perf_counter() - started, len(launches))


@pytest.fixture(scope="module")
def passing(tmp_path_factory: pytest.TempPathFactory, browser_tools: None) -> Run:
    tmp = tmp_path_factory.mktemp("pass")
    return _run(tmp, copy_site("pass", tmp), ALL)


@pytest.fixture(scope="module")
def builder(tmp_path_factory: pytest.TempPathFactory, browser_tools: None) -> Run:
    tmp = tmp_path_factory.mktemp("builder")
    workspace = tmp / "site"
    workspace.mkdir()
    (workspace / "index.html").write_text(studio_page(0))
    return _run(tmp, workspace, ALL)


def test_the_passing_site_passes_every_gate(passing: Run) -> None:
    assert [r.gate for r in passing.results] == list(ALL)
    for result in passing.results:
        assert result.passed, (result.gate, result.findings, result.unavailable, result.error)
        assert result.findings == [] and result.unavailable is None and result.error is None
        assert result.duration_s > 0
    assert passing.by_gate["accessibility"].score is not None and passing.by_gate["accessibility"].score >= 90
    assert passing.by_gate["performance"].score is not None and passing.by_gate["performance"].score >= 90
    assert "axe-core on 2 page(s)" in passing.by_gate["accessibility"].notes[0]  # every page, not just index


def test_one_browser_is_shared_and_the_gates_overlap(passing: Run) -> None:
    assert passing.launches == 1
    durations = sum(r.duration_s for r in passing.results)
    assert passing.wall_s < durations  # concurrent: the gates' times add up to more than the run took


def test_lighthouse_reports_are_kept_beside_the_workspace_not_in_it(passing: Run) -> None:
    reports = passing.by_gate["performance"].reports
    assert len(reports) == 2  # index.html and about.html
    for report in map(Path, reports):
        assert not report.resolve().is_relative_to(passing.workspace.resolve())
        data = json.loads(report.read_text())
        assert data["lighthouseVersion"] and data["categories"]["performance"]["score"] >= 0.9
    summary = json.loads((Path(reports[0]).parent / "gates.json").read_text())
    assert [g["gate"] for g in summary] == list(ALL) and all(g["passed"] for g in summary)
    assert sorted(p.name for p in passing.workspace.rglob("*")) == sorted(
        ["index.html", "about.html", "css", "site.css", "js", "menu.js"]
    )


def test_the_builder_scenario_page_passes_all_four_gates_in_under_30_s(builder: Run) -> None:
    for result in builder.results:
        assert result.passed, (result.gate, result.findings, result.unavailable, result.error)
    assert builder.wall_s < 30, builder.wall_s


def test_canon_fixture_fails_canon_for_each_planted_violation(tmp_path: Path) -> None:
    workspace = copy_site("canon_fail", tmp_path)
    results = _by_gate(run_gates(workspace, _gates("canon", "security"), report_dir=tmp_path / "r"))
    canon = results["canon"]
    assert not canon.passed and results["security"].passed
    found = {(f.rule, f.location) for f in canon.findings}
    assert found == {
        ("canon/color", "site.css:10:3"),  # h1 { color: #b00020 }
        ("canon/color", "index.html:13:74"),  # <circle fill="#1e90ff">
        ("canon/font-family", "site.css:9:3"),  # "Comic Sans MS"
        ("canon/inline-style", "index.html:12:7"),  # style="margin-top: 0"
        ("canon/important", "site.css:15:3"),  # color: #333 !important
        ("canon/spacing-scale", "site.css:14:3"),  # padding: 13px
        ("canon/landmarks", "index.html"),  # no <header>
    }
    assert all(f.fix for f in canon.findings)


def test_accessibility_fixture_fails_with_the_axe_findings(tmp_path: Path, browser_tools: None) -> None:
    workspace = copy_site("a11y_fail", tmp_path)
    run = _run(tmp_path, workspace, ("accessibility", "canon", "security"))
    a11y = run.by_gate["accessibility"]
    assert not a11y.passed and run.by_gate["canon"].passed and run.by_gate["security"].passed
    assert {"axe/image-alt", "axe/color-contrast"} <= _rules(a11y)
    image = next(f for f in a11y.findings if f.rule == "axe/image-alt")
    assert image.location.startswith("index.html ") and "press.svg" in image.message
    assert image.severity == "high" and "alt" in image.fix
    contrast = next(f for f in a11y.findings if f.rule == "axe/color-contrast")
    assert "faint" in contrast.message and "4.5:1" in contrast.fix
    assert a11y.score is not None and a11y.score < 90  # Lighthouse's accessibility score agrees


def test_performance_fixture_fails_on_its_blocking_script(tmp_path: Path, browser_tools: None) -> None:
    workspace = copy_site("perf_fail", tmp_path)
    run = _run(tmp_path, workspace, ("performance",))
    perf = run.by_gate["performance"]
    assert not perf.passed and perf.score is not None and perf.score < 90
    rules = _rules(perf)
    assert "lighthouse/performance-score" in rules
    assert rules & {"lighthouse/first-contentful-paint", "lighthouse/largest-contentful-paint"}
    assert "lighthouse/bootup-time" in rules  # the busy script is named as the cause
    assert not rules & {
        "lighthouse/uses-long-cache-ttl",
        "lighthouse/uses-text-compression",
    }  # the server's, not the site's
    assert perf.reports and Path(perf.reports[0]).is_file()


def test_security_fixture_fails_for_each_planted_issue(tmp_path: Path) -> None:
    workspace = copy_site("security_fail", tmp_path)
    (workspace / "js" / "settings.js").write_text(f'export const key = "{AWS_KEY}"; // pragma: allowlist secret\n')
    security = run_gates(workspace, _gates("security"), task_type="template-generation")[0]
    assert not security.passed
    found = {(f.rule, f.location) for f in security.findings}
    assert found == {
        ("security/mixed-content", "index.html:8:5"),
        ("security/inline-event-handler", "index.html:15:7"),
        ("security/target-blank", "index.html:17:7"),
        ("security/eval", "js/app.js:3"),
        ("security/html-injection", "js/app.js:8"),  # the constant one on line 10 is fine
        ("bandit/B307", "tools/build.py:5"),  # "# nosec" does not hide it
        ("secrets/aws-access-key", "js/settings.js:1"),  # nor does "pragma: allowlist secret"
    }


def test_security_min_severity_keeps_only_issues_at_or_above_it(
    tmp_path: Path, write_config: Callable[[str], GatesConfig]
) -> None:
    workspace = copy_site("security_fail", tmp_path)
    config = write_config('[gates.security]\nmin_severity = "high"\n')
    security = run_gates(workspace, _gates("security"), config=config, task_type="template-generation")[0]
    assert {f.rule for f in security.findings} == {"security/eval"}
    assert any("below high severity ignored" in n for n in security.notes)
