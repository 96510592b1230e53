"""Running a set of gates on a workspace: ``run_gates`` → one ``GateResult`` per gate, in order.

The workspace is served on loopback for the duration unless a preview URL is given; the gates
run concurrently in threads and share one Chromium and the Lighthouse runs. A gate that raises
fails with ``error`` set (never passes); a gate whose tool is missing fails unless the task type
lists it in ``allow_unavailable``. A summary ``gates.json`` is kept in the report directory.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path

from agentic_executor.gates.base import Gate, GateContext, GateResult
from agentic_executor.gates.config import GatesConfig, load_gates_config
from agentic_executor.gates.serve import serve_folder
from agentic_executor.gates.site import Site
from agentic_executor.gates.tools import SharedTools


def run_gates(
    workspace: Path,
    gates: Sequence[Gate],
    *,
    config: GatesConfig | None = None,
    task_type: str | None = None,
    preview_url: str | None = None,
    report_dir: Path | None = None,
    parallel: bool = True,
) -> list[GateResult]:
    config = config or load_gates_config()
    if not gates:
        return []
    site = Site.scan(workspace)
    served = nullcontext(preview_url) if preview_url else serve_folder(workspace)
    with served as url, _tools(config, url if url.endswith("/") else url + "/", site, report_dir) as tools:
        contexts = [
            GateContext(workspace, tools.preview_url, site, tools, config.options_for(g.name, task_type), report_dir)
            for g in gates
        ]
        with ThreadPoolExecutor(max_workers=len(gates) if parallel else 1, thread_name_prefix="agx-gate") as pool:
            results = list(pool.map(_run_one, gates, contexts))
    for result in results:
        if result.unavailable and config.allows_unavailable(task_type, result.gate):
            result.passed = True
            result.notes.append(f"its tool is unavailable, which task type {task_type!r} allows")
    if report_dir is not None:
        report_dir.mkdir(parents=True, exist_ok=True)
        (report_dir / "gates.json").write_text(json.dumps([r.to_dict() for r in results], indent=2))
    return results


@contextmanager
def _tools(config: GatesConfig, base_url: str, site: Site, report_dir: Path | None) -> Iterator[SharedTools]:
    tools = SharedTools(
        chromium=config.tool("chromium"),
        lighthouse=config.tool("lighthouse"),
        lighthouse_options=config.lighthouse,
        preview_url=base_url,
        digest=site.digest,
        report_dir=report_dir,
        cache=config.cache,
    )
    try:
        yield tools
    finally:
        tools.close()


def _run_one(gate: Gate, ctx: GateContext) -> GateResult:
    started = time.perf_counter()
    try:
        result = gate.run(ctx)
    except Exception as exc:  # a crashing gate fails the claim; it must never pass it or stop the loop
        result = GateResult(gate.name, passed=False, error=f"{type(exc).__name__}: {exc}")
    if result.unavailable or result.error:
        result.passed = False
    result.duration_s = time.perf_counter() - started
    return result


class UnregisteredGate:
    """Stands in for a gate the config names but nobody registered: it cannot run, so it fails."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, ctx: GateContext) -> GateResult:
        return GateResult.missing_tool(self.name, f"no gate named {self.name!r} is registered")
