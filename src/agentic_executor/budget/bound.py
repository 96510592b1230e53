"""The pre-call bound: how large a model call may be so that its worst case fits what is left.

Every input token is priced at the dearest input rate that could apply (a cache write, at the
dearest tier the input could reach), every possible output token (thinking included) at the
output rate, and ``max_tokens`` is clamped so that the sum fits the money available. If not even
``min_useful_tokens`` fit, the call is refused before it is made.

Without cache breakpoints no input token can be a cache write, so a call that does not fit with
caching may still fit without it: the guard tries that before giving up (the last few cents of a
budget are then still usable).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from agentic_executor.budget.prices import ModelPricing
from agentic_executor.errors import BudgetExhausted

MIN_THINKING_BUDGET = 1024  # the Messages API's floor for budget_tokens


@dataclass(frozen=True)
class CallPlan:
    input_tokens: int  # the bound the worst case assumes (count plus margin)
    max_tokens: int
    thinking_budget: int | None
    worst_case_micros: int
    cache: bool = True  # whether the request may carry prompt-caching breakpoints


def input_bound(counted_tokens: int, margin: float) -> int:
    """The provider's count plus a safety margin, never below the count itself."""
    return counted_tokens + math.ceil(counted_tokens * max(margin, 0.0)) + 8


def plan_call(
    pricing: ModelPricing,
    counted_input_tokens: int,
    available_micros: int,
    *,
    max_tokens_cap: int,
    thinking_budget: int | None,
    min_useful_tokens: int,
    margin: float,
    cache: bool = True,
) -> CallPlan:
    """The largest call whose worst case fits ``available_micros``, or ``BudgetExhausted``."""
    tokens_in = input_bound(counted_input_tokens, margin)
    input_cost = tokens_in * pricing.worst_input_rate(tokens_in, cache=cache)
    out_rate = pricing.worst_output_rate(tokens_in)
    left = Decimal(available_micros) - input_cost
    if left < 0:
        affordable = 0
    else:
        affordable = max_tokens_cap if out_rate == 0 else int(left // out_rate)
    max_tokens = min(max_tokens_cap, affordable)
    if max_tokens < max(min_useful_tokens, 1):
        raise BudgetExhausted(
            f"not even a minimal call fits: {available_micros} micro-dollars left, a call with "
            f"{tokens_in} input tokens and {min_useful_tokens} output tokens needs more",
            details={"available_micros": available_micros, "input_tokens": tokens_in},
        )
    thinking = _fit_thinking(thinking_budget, max_tokens, min_useful_tokens)
    worst = math.ceil(input_cost + max_tokens * out_rate)
    assert worst <= available_micros, "bound arithmetic must never exceed what is available"
    return CallPlan(tokens_in, max_tokens, thinking, worst, cache)


def _fit_thinking(wanted: int | None, max_tokens: int, answer_room: int) -> int | None:
    """Shrink thinking to leave room for an answer; drop it below the API's 1024 floor."""
    if not wanted:
        return None
    budget = min(wanted, max_tokens - answer_room)
    return budget if budget >= MIN_THINKING_BUDGET else None
