"""One budget-guarded model call: count → bound → reserve → call → (caller settles).

Each attempt, retries included, is reserved before it is sent. A failed attempt is settled at
once: at zero when the API refused it before any work (429/529/5xx status), at its worst case
when it may have been billed (a dropped connection, an interrupted stream). The successful
attempt comes back with its reservation still open, so the caller settles it in the same
transaction that commits the iteration: a crash in between leaves an open reservation, which
recovery settles at the worst case.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from agentic_executor.budget.bound import CallPlan, plan_call
from agentic_executor.budget.ledger import Ledger, Reservation
from agentic_executor.budget.prices import ModelPricing
from agentic_executor.errors import BudgetExhausted, ProviderError
from agentic_executor.providers.base import ModelRequest, ModelResponse, Provider, RetryableProviderError

RESERVE_RACES = 20  # a concurrent reserver took the money between our read and our reserve


@dataclass(frozen=True)
class CallLimits:
    max_tokens: int = 16_000
    thinking_budget: int | None = None
    min_useful_tokens: int = 256
    margin: float = 0.02
    attempts: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0


@dataclass
class FailedAttempt:
    attempt: int
    error: str
    status: int | None
    charged_micros: int


@dataclass
class GuardedCall:
    response: ModelResponse
    reservation: Reservation
    actual_micros: int
    plan: CallPlan
    attempts: int
    failures: list[FailedAttempt] = field(default_factory=list)


def guarded_call(
    ledger: Ledger,
    pool_ids: Sequence[str],
    pricing: ModelPricing,
    provider: Provider,
    request: ModelRequest,
    limits: CallLimits,
    *,
    session_id: str | None = None,
    iteration: int | None = None,
    owner: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    available_hint: int | None = None,
) -> GuardedCall:
    """Make the call if (and only as large as) the budget allows; raises BudgetExhausted otherwise."""
    failures: list[FailedAttempt] = []
    for attempt in range(1, max(1, limits.attempts) + 1):
        counted = _count(provider, request)
        plan, reservation = _reserve(
            ledger, pool_ids, pricing, counted, limits, session_id, iteration, attempt, owner, available_hint
        )
        available_hint = None  # a retry reads the pools afresh
        try:
            response = provider.complete(
                replace(
                    request,
                    max_tokens=plan.max_tokens,
                    thinking_budget=plan.thinking_budget,
                    cache=request.cache and plan.cache,
                )
            )
        except RetryableProviderError as exc:
            charged = ledger.settle_worst_case(reservation) if exc.billed else ledger.settle(reservation, 0)
            failures.append(FailedAttempt(attempt, str(exc), exc.status, charged))
            if attempt < limits.attempts:
                sleep(_delay(exc.retry_after, attempt, limits))
            continue
        except BaseException:
            # Interrupted or refused mid-call: it may have been billed, so charge the worst case.
            ledger.settle_worst_case(reservation)
            raise
        actual = pricing.cost_micros(response.usage)
        return GuardedCall(response, reservation, actual, plan, attempt, failures)
    raise ProviderError(
        f"the model call failed {len(failures)} times: {failures[-1].error if failures else 'no attempt'}",
        details={"attempts": [f.__dict__ for f in failures]},
    )


def _count(provider: Provider, request: ModelRequest) -> int:
    last: RetryableProviderError | None = None
    for _ in range(3):
        try:
            return provider.count_input_tokens(request)
        except RetryableProviderError as exc:  # counting is free: retry without reserving
            last = exc
            time.sleep(min(exc.retry_after or 0.5, 5.0))
    raise ProviderError(f"could not count input tokens: {last}")


def _reserve(
    ledger: Ledger,
    pool_ids: Sequence[str],
    pricing: ModelPricing,
    counted: int,
    limits: CallLimits,
    session_id: str | None,
    iteration: int | None,
    attempt: int,
    owner: str | None,
    hint: int | None,
) -> tuple[CallPlan, Reservation]:
    """Plan and reserve. ``hint`` (what the caller read of the pools moments ago) saves a read: if
    it is stale-high the conditional reserve fails and we re-read; if it is stale-low (a top-up)
    and nothing fits, we re-read before calling the budget exhausted."""
    for _ in range(RESERVE_RACES):
        available = hint if hint is not None else ledger.available(list(pool_ids))
        try:
            plan = _plan(pricing, counted, available, limits)
        except BudgetExhausted:
            if hint is None:
                raise
            hint = None
            continue
        hint = None
        try:
            res = ledger.reserve(
                pool_ids,
                plan.worst_case_micros,
                session_id=session_id,
                iteration=iteration,
                attempt=attempt,
                owner=owner,
            )
        except BudgetExhausted:
            continue  # someone reserved in between: plan again with what is left now
        return plan, res
    raise BudgetExhausted("the budget pool is contended: could not reserve after repeated tries")


def _plan(pricing: ModelPricing, counted: int, available: int, limits: CallLimits) -> CallPlan:
    try:
        return plan_call(pricing, counted, available, cache=True, **_plan_options(limits))
    except BudgetExhausted:  # without cache writes the input is cheaper; if not even that fits: exhausted
        return plan_call(pricing, counted, available, cache=False, **_plan_options(limits))


def _plan_options(limits: CallLimits) -> dict[str, Any]:
    return {
        "max_tokens_cap": limits.max_tokens,
        "thinking_budget": limits.thinking_budget,
        "min_useful_tokens": limits.min_useful_tokens,
        "margin": limits.margin,
    }


def _delay(retry_after: float | None, attempt: int, limits: CallLimits) -> float:
    if retry_after is not None:
        return min(retry_after, limits.max_delay)
    return min(limits.base_delay * 2.0 ** (attempt - 1), limits.max_delay)
