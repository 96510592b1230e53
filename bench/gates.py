"""Quality gates on a small page: how long all four take together, concurrently vs one after another.

``main()`` returns the Markdown section (a list of lines). The page is the builder scenario's
fitness-studio page; each measured run starts cold (the per-process memo of browser results is
cleared) except the last, which shows what a repeated claim on unchanged work costs.
Run alone: ``python -m bench.gates``.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from agentic_executor.gates import Gate, get_gate
from agentic_executor.gates.memo import clear_memos
from agentic_executor.gates.runner import run_gates
from agentic_executor.testing.content import studio_page

GATES = ("canon", "accessibility", "performance", "security")
COLD_RUNS = 3
LIMIT_S = 30.0


def _gates() -> list[Gate]:
    found = [get_gate(name) for name in GATES]
    return [g for g in found if g is not None]


def _run(workspace: Path, reports: Path, gates: list[Gate], *, cold: bool) -> tuple[float, dict[str, float], bool]:
    if cold:
        clear_memos()
    started = time.perf_counter()
    results = run_gates(workspace, gates, task_type="template-generation", report_dir=reports)
    wall = time.perf_counter() - started
    return wall, {r.gate: r.duration_s for r in results}, all(r.passed for r in results)


def _alone(workspace: Path, reports: Path) -> tuple[float, dict[str, float], bool]:
    """Each gate in a run of its own, cold: no shared browser, no shared Lighthouse report."""
    durations: dict[str, float] = {}
    passed = True
    for gate in _gates():
        wall, _, ok = _run(workspace, reports / gate.name, [gate], cold=True)
        durations[gate.name], passed = wall, passed and ok
    return sum(durations.values()), durations, passed


def main() -> list[str]:
    rows: list[tuple[str, float, dict[str, float], bool]] = []
    with tempfile.TemporaryDirectory(prefix="agx-bench-gates-") as tmp:
        workspace = Path(tmp, "site")
        workspace.mkdir()
        (workspace / "index.html").write_text(studio_page(0))
        load_before = os.getloadavg()[0]
        for n in range(COLD_RUNS):
            rows.append(
                (
                    "together (concurrent, shared browser), cold",
                    *_run(workspace, Path(tmp, f"c{n}"), _gates(), cold=True),
                )
            )
        rows.append(("together, repeated on unchanged work", *_run(workspace, Path(tmp, "m"), _gates(), cold=False)))
        rows.append(("each gate alone, one after another, cold", *_alone(workspace, Path(tmp, "alone"))))
    concurrent = sorted(wall for label, wall, _, _ in rows if label.endswith("shared browser), cold"))
    median = concurrent[len(concurrent) // 2]
    sequential = next(wall for label, wall, _, _ in rows if label.startswith("each gate alone"))
    lines = [
        "## Quality gates on a small page",
        "",
        "All four gates of `template-generation` (canon, accessibility = axe-core + Lighthouse score, "
        "performance = Lighthouse, security = bandit + detect-secrets + HTML/JS rules) on the builder "
        "scenario's page (one `index.html`, "
        f"{len(studio_page(0)) / 1024:.1f} KiB), served on loopback. Load average before: {load_before:.2f} "
        f"on {os.cpu_count()} cores (Lighthouse's scores and times suffer on a busy machine).",
        "",
        "| run | wall | canon | accessibility | performance | security | all passed |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for label, wall, durations, passed in rows:
        cells = " | ".join(f"{durations.get(g, 0):.2f} s" for g in GATES)
        lines.append(f"| {label} | {wall:.2f} s | {cells} | {'yes' if passed else 'NO'} |")
    lines += [
        "",
        f"- Median of {COLD_RUNS} cold concurrent runs: **{median:.1f} s** "
        f"({'under' if median < LIMIT_S else 'OVER'} the {LIMIT_S:.0f} s limit); each gate alone, one after "
        f"another: {sequential:.1f} s.",
        "- Accessibility and performance overlap: axe runs while Lighthouse audits the page in the same "
        "browser, and both read the one Lighthouse report; canon and security run alongside.",
        "- A repeated claim on unchanged files reuses the browser results (keyed by a digest of every file).",
        "",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(main()))
