"""Ledger latency: what one budget reservation and its settlement cost, alone and under contention.

Every model call the engine makes is bracketed by ``Ledger.reserve`` (committed before the call) and
``Ledger.settle`` (committed with the iteration), so these two transactions are the fixed price of
the hard-budget guarantee. Measured through the public API, on a file-backed SQLite database in the
temp dir (``open_database``: WAL, ``synchronous=FULL``, ``BEGIN IMMEDIATE``) and on PostgreSQL (a
private schema):

- sequential: after a warm-up, N reserve-then-settle pairs on one pool, one thread; latency of each
  reserve, each settle and each pair;
- contended: 8 threads, each doing 100 pairs on one shared pool; throughput and pair latency.

Reservations carry no session id, so ``settle`` skips the session row update the engine also does.
No target is set: these figures are reported for reference.
"""

from __future__ import annotations

import threading
from pathlib import Path
from time import perf_counter_ns

from agentic_executor.budget.ledger import Ledger
from agentic_executor.store.db import open_database

from .common import Section, Table, ms, percentile, pg_probe, pg_schema

WARMUP = 50
N = 500
THREADS = 8
PAIRS_PER_THREAD = 100
AMOUNT = 50_000  # micro-dollars reserved per call (5 cents)
ACTUAL = 30_000  # micro-dollars charged on settle
ALLOCATED = 10**12


def _pair(ledger: Ledger, pool: str) -> tuple[int, int]:
    """One reserve then settle; returns their durations in ns."""
    t0 = perf_counter_ns()
    reservation = ledger.reserve([pool], AMOUNT)
    t1 = perf_counter_ns()
    ledger.settle(reservation.id, ACTUAL)
    return t1 - t0, perf_counter_ns() - t1


def sequential(ledger: Ledger, pool: str) -> dict[str, list[int]]:
    for _ in range(WARMUP):
        _pair(ledger, pool)
    out: dict[str, list[int]] = {"reserve": [], "settle": [], "pair": []}
    for _ in range(N):
        reserve_ns, settle_ns = _pair(ledger, pool)
        out["reserve"].append(reserve_ns)
        out["settle"].append(settle_ns)
        out["pair"].append(reserve_ns + settle_ns)
    return out


def contended(ledger: Ledger, pool: str) -> tuple[float, list[int]]:
    """Returns (wall time in ns, latency of every pair)."""
    start = threading.Barrier(THREADS + 1)
    latencies: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        mine: list[int] = []
        start.wait()
        try:
            for _ in range(PAIRS_PER_THREAD):
                mine.append(sum(_pair(ledger, pool)))
        except BaseException as exc:
            errors.append(exc)
        latencies.extend(mine)  # list.extend is atomic under the GIL

    threads = [threading.Thread(target=worker, name=f"ledger-bench-{i}") for i in range(THREADS)]
    for t in threads:
        t.start()
    start.wait()
    t0 = perf_counter_ns()
    for t in threads:
        t.join()
    wall = perf_counter_ns() - t0
    if errors:
        raise errors[0]
    return wall, latencies


def measure(url: str) -> tuple[dict[str, list[int]], float, list[int], bool]:
    db = open_database(url)
    try:
        ledger = Ledger(db)
        pool = ledger.create_pool("session", ALLOCATED)
        seq = sequential(ledger, pool)
        wall, lat = contended(ledger, pool)
        state = ledger.pool(pool)
        pairs = WARMUP + N + THREADS * PAIRS_PER_THREAD
        balanced = state.reserved == 0 and state.consumed == pairs * ACTUAL
        return seq, wall, lat, balanced
    finally:
        db.dispose()


def run(workdir: Path) -> Section:
    workdir.mkdir(parents=True, exist_ok=True)
    backends: list[tuple[str, tuple[dict[str, list[int]], float, list[int], bool] | None]] = [
        ("SQLite", measure(f"sqlite:///{workdir / 'ledger.db'}"))
    ]
    notes = []
    pg_version, pg_problem = pg_probe()
    if pg_version is None:
        backends.append(("PostgreSQL", None))
        notes.append(f"PostgreSQL was unreachable, so it was not measured: {pg_problem}")
    else:
        with pg_schema() as url:
            backends.append((f"PostgreSQL {pg_version.split()[0]}", measure(url)))

    seq_rows, con_rows, summary = [], [], []
    for name, result in backends:
        if result is None:
            seq_rows.append([name, "-", "not measured", "-", "-", "-", "-"])
            con_rows.append([name, "not measured", "-", "-", "-", "-", "-"])
            summary.append(f"{name}: not measured (unreachable)")
            continue
        seq, wall, lat, balanced = result
        for op in ("reserve", "settle", "pair"):
            v = seq[op]
            mean = sum(v) / len(v)
            row = [ms(percentile(v, 50)), ms(percentile(v, 95)), ms(percentile(v, 99)), ms(mean), ms(max(v))]
            seq_rows.append([name, op, *row])
        throughput = len(lat) / (wall / 1e9)
        con_rows.append(
            [
                name,
                f"{THREADS}×{PAIRS_PER_THREAD}",
                f"{wall / 1e9:.2f}",
                f"{throughput:.0f}",
                ms(percentile(lat, 50)),
                ms(percentile(lat, 99)),
                "yes" if balanced else "**NO**",
            ]
        )
        summary.append(
            f"{name}: pair p50 {ms(percentile(seq['pair'], 50))} ms, p99 {ms(percentile(seq['pair'], 99))} ms; "
            f"contended {throughput:.0f} pairs/s, p99 {ms(percentile(lat, 99))} ms"
        )
    return Section(
        title="1. Ledger: reserve + settle latency",
        about=__doc__ or "",
        tables=[
            Table(
                f"Sequential: {N} pairs on one pool after {WARMUP} warm-up pairs (ms)",
                ["backend", "op", "p50", "p95", "p99", "mean", "max"],
                seq_rows,
            ),
            Table(
                f"Contended: {THREADS} threads × {PAIRS_PER_THREAD} pairs on one shared pool",
                ["backend", "threads×pairs", "wall s", "pairs/s", "pair p50 ms", "pair p99 ms", "pool balanced after"],
                con_rows,
            ),
        ],
        notes=[
            "Target: none set (reported for reference).",
            "'pool balanced after' checks the ledger invariant after the run: nothing left reserved and "
            "consumed equals exactly pairs × the settled amount.",
            *notes,
        ],
        summary=summary,
    )
