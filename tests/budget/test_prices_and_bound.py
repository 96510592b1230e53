"""Pricing resolves names exactly and converts usage correctly; the pre-call bound is a true bound."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from genai_prices import types as gp
from hypothesis import given, settings
from hypothesis import strategies as st

from agentic_executor.budget.bound import plan_call
from agentic_executor.budget.prices import ModelPricing, PriceBook, Usage
from agentic_executor.errors import BudgetExhausted, UnknownModel


def test_known_models_resolve_exactly() -> None:
    book = PriceBook()
    assert book.resolve("claude-sonnet-4-6").source == "genai-prices:claude-sonnet-4-6"
    assert book.resolve("claude-sonnet-4-5-20250929").source == "genai-prices:claude-sonnet-4-5"
    assert book.resolve("openai:gpt-5").provider == "openai"


@pytest.mark.parametrize(
    "name",
    ["claude-sonnet-4-6-turbo", "claude-haiku-9-9", "claude-sonnet-4.6x", "sonnet", "", "openai:gpt-5-imaginary"],
)
def test_loose_or_unknown_names_are_refused_naming_the_fix(name: str) -> None:
    with pytest.raises(UnknownModel) as err:
        PriceBook(Path("/tmp/p.toml")).resolve(name)
    assert "/tmp/p.toml" in err.value.message and "input_mtok" in err.value.message


def test_anthropic_usage_converts_to_genai_prices() -> None:
    # Anthropic: input_tokens excludes cache; genai-prices: input_tokens includes it.
    pricing = PriceBook().resolve("claude-sonnet-4-6")  # $3 in, $0.30 read, $3.75 write, $15 out
    usage = Usage(input_tokens=500, cache_read_tokens=400, cache_write_tokens=100, output_tokens=10)
    assert usage.to_genai().input_tokens == 1000
    assert pricing.cost_micros(usage) == 500 * 3 + 400 * 0.3 + 100 * 3.75 + 10 * 15 == 2145


def test_override_file_adds_a_model_with_tiers(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text("""
[models."my-model"]
input_mtok = { base = 2, tiers = [{ start = 1000, price = 4 }] }
output_mtok = 10
""")
    pricing = PriceBook(prices).resolve("my-model")
    assert pricing.source == str(prices)
    assert pricing.cost_micros(Usage(input_tokens=1000, output_tokens=1)) == 2010
    assert pricing.cost_micros(Usage(input_tokens=1001, output_tokens=1)) == 4014  # cliff tier
    assert pricing.worst_input_rate(1000) == 2 and pricing.worst_input_rate(1001) == 4


def test_bad_override_file_is_a_clear_error(tmp_path: Path) -> None:
    prices = tmp_path / "prices.toml"
    prices.write_text('[models."m"]\ninput_mtok = 1\n')
    with pytest.raises(UnknownModel, match="output_mtok"):
        PriceBook(prices)


def test_bound_clamps_max_tokens_and_fits_thinking() -> None:
    pricing = PriceBook().resolve("claude-sonnet-4-6")
    roomy = plan_call(
        pricing, 1_000, 10_000_000, max_tokens_cap=16_000, thinking_budget=4_000, min_useful_tokens=256, margin=0.02
    )
    assert (roomy.max_tokens, roomy.thinking_budget) == (16_000, 4_000)
    tight = plan_call(
        pricing, 1_000, 40_000, max_tokens_cap=16_000, thinking_budget=4_000, min_useful_tokens=256, margin=0.02
    )
    assert tight.max_tokens < 16_000 and tight.worst_case_micros <= 40_000
    assert tight.thinking_budget is None or 1024 <= tight.thinking_budget < tight.max_tokens
    no_thinking = plan_call(
        pricing,
        1_000,
        1_000 * 4 + 1_200 * 15,
        max_tokens_cap=16_000,
        thinking_budget=4_000,
        min_useful_tokens=256,
        margin=0.02,
    )
    assert no_thinking.thinking_budget is None  # 1024 + room for an answer does not fit
    with pytest.raises(BudgetExhausted):
        plan_call(
            pricing, 1_000, 5_000, max_tokens_cap=16_000, thinking_budget=None, min_useful_tokens=256, margin=0.02
        )


rates = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=3)


@st.composite
def pricings(draw: st.DrawFn) -> ModelPricing:
    def price() -> Decimal | gp.TieredPrices:
        base = draw(rates)
        if draw(st.booleans()):
            return gp.TieredPrices(base=base, tiers=[gp.Tier(start=draw(st.integers(1, 300_000)), price=draw(rates))])
        return base

    keys = {k: price() for k in ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")}
    return ModelPricing("m", "anthropic", "test", gp.ModelPrice(**keys))


@settings(max_examples=300, deadline=None)
@given(
    pricing=pricings(),
    counted=st.integers(0, 400_000),
    available=st.integers(0, 50_000_000),
    cap=st.integers(1, 64_000),
    split=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    out_share=st.floats(0, 1),
    margin=st.floats(0, 0.1),
)
def test_no_real_call_within_the_plan_costs_more_than_its_reservation(
    pricing: ModelPricing,
    counted: int,
    available: int,
    cap: int,
    split: tuple[float, float],
    out_share: float,
    margin: float,
) -> None:
    try:
        plan = plan_call(
            pricing, counted, available, max_tokens_cap=cap, thinking_budget=2048, min_useful_tokens=1, margin=margin
        )
    except BudgetExhausted:
        return
    assert plan.worst_case_micros <= available
    assert plan.max_tokens <= cap
    read = int(counted * split[0])
    write = int((counted - read) * split[1])
    usage = Usage(
        input_tokens=counted - read - write,
        cache_read_tokens=read,
        cache_write_tokens=write,
        output_tokens=int(plan.max_tokens * out_share),
    )
    assert pricing.cost_micros(usage) <= plan.worst_case_micros


def test_without_cache_breakpoints_the_last_cents_still_buy_a_call() -> None:
    pricing = PriceBook().resolve("claude-sonnet-4-6")  # input $3, cache write $3.75 per MTok
    counted, room = 20_000, 300 * 15  # 300 output tokens at $15/MTok
    available = int(counted * 1.02 + 8) * 3 + room + 1
    with pytest.raises(BudgetExhausted):
        plan_call(
            pricing, counted, available, max_tokens_cap=16_000, thinking_budget=None, min_useful_tokens=256, margin=0.02
        )
    plan = plan_call(
        pricing,
        counted,
        available,
        max_tokens_cap=16_000,
        thinking_budget=None,
        min_useful_tokens=256,
        margin=0.02,
        cache=False,
    )
    assert not plan.cache and plan.max_tokens >= 256 and plan.worst_case_micros <= available
