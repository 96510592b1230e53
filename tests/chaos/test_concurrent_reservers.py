"""50 reservers at once on one pool (threads, then processes): never over, and the pool drains."""

from __future__ import annotations

import multiprocessing
import random
import threading

import pytest

from agentic_executor.budget.ledger import Ledger
from agentic_executor.errors import BudgetExhausted
from agentic_executor.store.db import Database

ALLOCATED = 1_000_000
MIN_CALL = 1_000  # the smallest call a reserver would still make
WORKERS = 50


def drain(url: str, pool_ids: list[str], seed: int, errors: list[str] | None = None) -> None:
    """Reserve like the guard does (re-plan on a lost race) until not even a minimal call fits."""
    db = Database(url)
    ledger = Ledger(db)
    rng = random.Random(seed)
    try:
        while True:
            available = ledger.available(pool_ids)
            if available < MIN_CALL:
                return
            amount = min(rng.randint(MIN_CALL, 40_000), available)
            try:
                res = ledger.reserve(pool_ids, amount, owner=f"w{seed}")
            except BudgetExhausted:
                continue
            ledger.settle(res.id, rng.randint(amount // 2, amount))
    except Exception as exc:  # reported to the parent: the test fails on any error
        if errors is not None:
            errors.append(repr(exc))
        raise
    finally:
        db.dispose()


def _check(ledger: Ledger, pools: list[str]) -> None:
    for pool in pools:
        state = ledger.pool(pool)
        assert state.reserved == 0
        assert state.consumed <= state.allocated
        assert state.consumed >= 0.98 * state.allocated, f"pool used only {state.consumed}/{state.allocated}"


@pytest.mark.slow
def test_fifty_threads_never_overspend(db: Database, db_url: str) -> None:
    ledger = Ledger(db)
    convoy = ledger.create_pool("convoy", ALLOCATED)
    session = ledger.create_pool("session", ALLOCATED * 2)
    errors: list[str] = []
    threads = [threading.Thread(target=drain, args=(db_url, [session, convoy], i, errors)) for i in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors
    _check(ledger, [convoy])
    assert ledger.pool(session).consumed == ledger.pool(convoy).consumed


@pytest.mark.slow
def test_fifty_processes_never_overspend(db: Database, db_url: str) -> None:
    ledger = Ledger(db)
    pool = ledger.create_pool("session", ALLOCATED)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=drain, args=(db_url, [pool], i)) for i in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * WORKERS
    _check(ledger, [pool])
