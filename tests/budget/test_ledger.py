"""The ledger's promise, attacked: consumed + reserved <= allocated for every pool, always."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agentic_executor.budget.ledger import Ledger, dollars_to_micros
from agentic_executor.errors import BadInput, BudgetExhausted
from agentic_executor.store.db import Database


def test_reserve_settle_releases_the_difference(db: Database) -> None:
    ledger = Ledger(db)
    pool = ledger.create_pool("session", 1_000)
    res = ledger.reserve([pool], 600)
    assert ledger.pool(pool).reserved == 600
    assert ledger.settle(res.id, 250) == 250
    state = ledger.pool(pool)
    assert (state.consumed, state.reserved, state.available) == (250, 0, 750)
    assert ledger.settle(res.id, 250) == 0  # idempotent


def test_reservation_that_does_not_fit_is_refused_and_changes_nothing(db: Database) -> None:
    ledger = Ledger(db)
    session_pool = ledger.create_pool("session", 1_000)
    convoy_pool = ledger.create_pool("convoy", 500)
    with pytest.raises(BudgetExhausted):
        ledger.reserve([session_pool, convoy_pool], 600)  # fits the session, not the convoy
    assert ledger.pool(session_pool).reserved == 0  # all pools or none
    assert ledger.pool(convoy_pool).reserved == 0
    ledger.reserve([session_pool, convoy_pool], 500)
    assert ledger.available([session_pool, convoy_pool]) == 0


def test_settle_never_charges_more_than_reserved(db: Database) -> None:
    ledger = Ledger(db)
    pool = ledger.create_pool("session", 1_000)
    res = ledger.reserve([pool], 400)
    assert ledger.settle(res.id, 10_000) == 400
    assert ledger.pool(pool).consumed == 400


def test_recover_abandoned_settles_at_worst_case(db: Database) -> None:
    ledger = Ledger(db)
    pool = ledger.create_pool("session", 1_000)
    ledger.reserve([pool], 300, owner="worker-a")
    ledger.reserve([pool], 200, owner="worker-b")
    assert len(ledger.recover_abandoned(owner="worker-a")) == 1
    state = ledger.pool(pool)
    assert (state.consumed, state.reserved) == (300, 200)


def test_add_funds_and_bad_amounts(db: Database) -> None:
    ledger = Ledger(db)
    pool = ledger.create_pool("session", 100)
    assert ledger.add_funds(pool, 50).allocated == 150
    with pytest.raises(BadInput):
        ledger.create_pool("session", 0)
    with pytest.raises(BadInput):
        ledger.add_funds(pool, -1)
    assert dollars_to_micros("5.00") == 5_000_000
    assert dollars_to_micros(0.1) == 100_000
    with pytest.raises(BadInput):
        dollars_to_micros("nan")


operation = st.one_of(
    st.tuples(st.just("reserve"), st.integers(0, 2), st.integers(0, 3_000)),
    st.tuples(st.just("settle"), st.integers(0, 50), st.floats(0, 2.0)),
    st.tuples(st.just("crash"), st.just(0), st.just(0)),
    st.tuples(st.just("top_up"), st.integers(0, 2), st.integers(1, 500)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(budgets=st.lists(st.integers(1, 5_000), min_size=3, max_size=3), ops=st.lists(operation, max_size=40))
def test_no_interleaving_overspends_any_pool(db: Database, budgets: list[int], ops: list[tuple]) -> None:  # type: ignore[type-arg]
    ledger = Ledger(db)
    convoy = ledger.create_pool("convoy", budgets[0])
    sessions = [ledger.create_pool("session", b) for b in budgets[1:]]
    pool_sets = [[sessions[0], convoy], [sessions[1], convoy], [sessions[0]]]
    open_ids: list[tuple[str, int]] = []
    for kind, a, b in ops:
        if kind == "reserve":
            try:
                res = ledger.reserve(pool_sets[a], b, owner="proc")
                open_ids.append((res.id, b))
            except BudgetExhausted:
                pass
        elif kind == "settle" and open_ids:
            res_id, amount = open_ids.pop(a % len(open_ids))
            ledger.settle(res_id, int(amount * b))  # actual may exceed the reservation
        elif kind == "crash":
            ledger.recover_abandoned(owner="proc")
            open_ids.clear()
        elif kind == "top_up":
            ledger.add_funds([convoy, *sessions][a], b)
        for pool in (convoy, *sessions):
            state = ledger.pool(pool)
            assert state.consumed >= 0 and state.reserved >= 0
            assert state.consumed + state.reserved <= state.allocated
