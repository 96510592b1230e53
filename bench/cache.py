"""Prompt-cache share: how much of each iteration's input is served from the provider's prompt cache.

Share of iteration i = cache_read / (input + cache_read + cache_write), read from
``agentic_iterations`` after the run. Cache reads cost a tenth of fresh input, so this share drives
the cost of long sessions. Runs:

- the demo pipeline as ``agx demo`` runs it: the seed's fitness-studio task (``SEED_PROMPT``,
  ``SEED_CRITERIA``, type template-generation, $5, default settings) through ``run_session`` on an
  in-process FakeModelServer, scenario ``thinker`` and scenario ``builder`` (3 iterations each);
- a longer variant, so the figure means something past iteration 3: scenario ``spender``,
  ``max_tokens=512``, thinking off, 15 iterations driven by hand with ``SessionRun.iterate``.

Each run uses a fresh fake server, so nothing is cached before its first iteration.
Target: ≥ 85% on every iteration from iteration 3 on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from agentic_executor.app import App
from agentic_executor.cli import SEED_CRITERIA, SEED_PROMPT
from agentic_executor.config import Settings
from agentic_executor.engine.loop import SessionRun, run_session
from agentic_executor.engine.submit import submit_task
from agentic_executor.providers.anthropic import AnthropicProvider
from agentic_executor.store import queries
from agentic_executor.testing import FakeModelServer

from .common import Section, Table, pct, yes_no

TARGET = 0.85
FROM_ITERATION = 3
LONG_ITERATIONS = 15


def _settings(home: Path, **overrides: Any) -> Settings:
    return Settings(home=home, database_url=f"sqlite:///{home / 'agx.db'}", **overrides)


def _session(scenario: str, home: Path, iterations: int | None = None, **overrides: Any) -> tuple[str, list[Any]]:
    """Run one session; ``iterations`` None runs it to its end like the demo. Returns (status, rows)."""
    app = App.open(_settings(home, **overrides))
    try:
        with FakeModelServer(scenario=scenario) as server:
            provider = AnthropicProvider(
                api_key="simulated", base_url=server.base_url, thinking_mode=app.settings.thinking_mode
            )
            try:
                if iterations is None:
                    session = submit_task(
                        app, SEED_PROMPT, 5.0, criteria=SEED_CRITERIA, task_type="template-generation"
                    )
                    status = run_session(app, session.id, provider)
                else:
                    session = submit_task(app, SEED_PROMPT, 100.0, criteria=SEED_CRITERIA)
                    run = SessionRun(app, session.id, provider)
                    run._start()
                    results = [run.iterate() for _ in range(iterations)]
                    status = next((r for r in results if r is not None), "running")
            finally:
                provider.close()
        with app.db.transaction() as conn:
            return status, list(queries.list_iterations(conn, session.id))
    finally:
        app.close()


def _total(row: Any) -> int:
    return int(row.input_tokens + row.cache_read_tokens + row.cache_write_tokens)


def _of_cacheable(row: Any, previous: Any | None) -> str:
    """Cache reads / the previous prompt: the most any cache can serve (new turns are never cached yet)."""
    if previous is None or not _total(previous):
        return "-"
    return pct(min(row.cache_read_tokens / _total(previous), 1.0))


def _share(row: Any) -> float:
    total = row.input_tokens + row.cache_read_tokens + row.cache_write_tokens
    return row.cache_read_tokens / total if total else 0.0


def run(workdir: Path) -> Section:
    runs = [
        ("demo, thinker", *_session("thinker", workdir / "thinker")),
        ("demo, builder", *_session("builder", workdir / "builder")),
        (
            f"spender, max_tokens=512, {LONG_ITERATIONS} iterations",
            *_session("spender", workdir / "spender", LONG_ITERATIONS, max_tokens=512, thinking_budget_tokens=0),
        ),
    ]
    tables, overview, summary = [], [], []
    for name, status, rows in runs:
        tables.append(
            Table(
                f"{name} ({'stopped by the benchmark' if status == 'running' else 'ended: ' + status})",
                ["iteration", "input", "cache write", "cache read", "cache-read share", "read / previous prompt"],
                [
                    [
                        str(r.iteration),
                        str(r.input_tokens),
                        str(r.cache_write_tokens),
                        str(r.cache_read_tokens),
                        pct(_share(r)),
                        _of_cacheable(r, rows[i - 1] if i else None),
                    ]
                    for i, r in enumerate(rows)
                ],
            )
        )
        late = [_share(r) for r in rows if r.iteration >= FROM_ITERATION]
        misses = [r.iteration for r in rows if r.iteration >= FROM_ITERATION and _share(r) < TARGET]
        holds_from = str(misses[-1] + 1) if misses else str(FROM_ITERATION)
        if misses and misses[-1] == rows[-1].iteration:
            holds_from = "never"
        met = bool(late) and min(late) >= TARGET
        reads = sum(r.cache_read_tokens for r in rows)
        total = sum(r.input_tokens + r.cache_read_tokens + r.cache_write_tokens for r in rows)
        worst = pct(min(late)) if late else "-"
        overview.append(
            [
                name,
                str(len(rows)),
                worst,
                pct(sum(late) / len(late)) if late else "-",
                holds_from,
                pct(reads / total),
                yes_no(met),
            ]
        )
        summary.append(f"{name}: min share from iteration {FROM_ITERATION} {worst} — {'met' if met else 'NOT met'}")
    overview_table = Table(
        f"Target: cache-read share ≥ {pct(TARGET)} on every iteration from iteration {FROM_ITERATION} on",
        [
            "run",
            "iterations",
            f"min share (it. ≥ {FROM_ITERATION})",
            f"mean share (it. ≥ {FROM_ITERATION})",
            f"≥ {pct(TARGET)} from iteration",
            "whole session",
            "met",
        ],
        overview,
    )
    return Section(
        title="3. Prompt-cache share per iteration",
        about=__doc__ or "",
        tables=[overview_table, *tables],
        notes=[
            "The fake server caches like the Messages API: a prefix is cacheable only from 1,024 tokens, "
            "and each request reads the longest cached prefix ending at one of its breakpoints.",
            "'input' is uncached input. Where it is 0, every input token was either read from the cache or "
            "written to it: the share is then bounded by what the last turn added, "
            "1 − new tokens / prompt size, so it grows with the history.",
            "'whole session' = all cache reads / all input tokens of the session.",
            "'read / previous prompt' = cache reads / the whole previous prompt: 100% means every token any "
            "cache could have served was served, so a share under the target is the size of the new turn, "
            "not a cache miss.",
        ],
        summary=summary,
    )
