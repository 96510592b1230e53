"""Model prices: exact resolution of a model name, and the cost of a call in micro-dollars.

Guards two halves of invariant 1: an unknown model is refused (never priced at $0 nor at a
look-alike's rates), and every cost is computed here, in integer micro-dollars rounded up.

Prices come from the offline ``genai-prices`` snapshot, overridden or extended by a TOML file::

    [models."my-finetune"]          # or "openai:my-model" for the openai provider
    input_mtok = 3                  # dollars per million tokens
    output_mtok = 15
    cache_read_mtok = 0.3           # optional, default: input_mtok
    cache_write_mtok = 3.75         # optional, default: input_mtok
    # tiered: input_mtok = { base = 3, tiers = [{ start = 200000, price = 6 }] }

A rate in dollars per million tokens is exactly micro-dollars per token, which keeps the
arithmetic integral: ``cost_micros = ceil(tokens × rate)``.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from genai_prices import Usage as GenaiUsage
from genai_prices import data_snapshot
from genai_prices import types as gp

from agentic_executor.errors import UnknownModel

PROVIDER_PREFIXES = {"anthropic": "anthropic", "openai": "openai"}
_DATED = re.compile(r"-\d{8}$")  # claude-sonnet-4-5-20250929 is claude-sonnet-4-5, pinned
PRICE_KEYS = ("input_mtok", "output_mtok", "cache_read_mtok", "cache_write_mtok")


@dataclass(frozen=True)
class Usage:
    """Token usage with Anthropic's meaning: ``input_tokens`` excludes both cache counts."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def to_genai(self) -> GenaiUsage:
        """genai-prices counts cache tokens inside ``input_tokens``; Anthropic does not."""
        return GenaiUsage(
            input_tokens=self.total_input_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens,
            output_tokens=self.output_tokens,
        )


@dataclass(frozen=True)
class Rate:
    """Dollars per million tokens (= micro-dollars per token), with cliff tiers on total input."""

    base: Decimal
    tiers: tuple[tuple[int, Decimal], ...] = ()

    def dearest_reachable(self, max_input_tokens: int) -> Decimal:
        """The highest rate any call with at most ``max_input_tokens`` input tokens could pay."""
        reachable = [price for start, price in self.tiers if max_input_tokens > start]
        return max([self.base, *reachable])


@dataclass(frozen=True)
class ModelPricing:
    model: str  # the name as the user gave it
    provider: str
    source: str  # "genai-prices:<model id>" or the override file's path
    price: gp.ModelPrice

    def rate(self, key: str) -> Rate:
        value = getattr(self.price, key, None)
        if value is None and key in ("cache_read_mtok", "cache_write_mtok"):
            value = self.price.input_mtok
        if value is None:
            return Rate(Decimal(0))
        if isinstance(value, gp.TieredPrices):
            return Rate(value.base, tuple((t.start, t.price) for t in value.tiers))
        return Rate(Decimal(value))

    def worst_input_rate(self, max_input_tokens: int, *, cache: bool = True) -> Decimal:
        """With caching, every input token could be a cache write, the dearest input kind; without
        cache breakpoints in the request, every input token is plain input."""
        keys = ("input_mtok", "cache_read_mtok", "cache_write_mtok") if cache else ("input_mtok",)
        return max(self.rate(k).dearest_reachable(max_input_tokens) for k in keys)

    def worst_output_rate(self, max_input_tokens: int) -> Decimal:
        return self.rate("output_mtok").dearest_reachable(max_input_tokens)

    def worst_case_micros(self, input_tokens: int, max_tokens: int, *, cache: bool = True) -> int:
        """An upper bound of the cost of a call with this many input and at most ``max_tokens`` output."""
        amount = input_tokens * self.worst_input_rate(input_tokens, cache=cache)
        amount += max_tokens * self.worst_output_rate(input_tokens)
        return math.ceil(amount)

    def cost_micros(self, usage: Usage) -> int:
        """The real cost of a finished call, through genai-prices, rounded up to the micro-dollar."""
        dollars = self.price.calc_price(usage.to_genai())["total_price"]
        return math.ceil(dollars * 1_000_000)


def split_provider(model: str) -> tuple[str, str]:
    """``openai:gpt-5`` → ("openai", "gpt-5"); a bare name is Anthropic's."""
    prefix, sep, rest = model.partition(":")
    if sep and prefix in PROVIDER_PREFIXES:
        return prefix, rest
    return "anthropic", model


class PriceBook:
    """Resolves model names exactly, against the override file first, then genai-prices."""

    def __init__(self, override_file: Path | None = None) -> None:
        self.override_file = override_file
        self._overrides = _load_overrides(override_file) if override_file and override_file.exists() else {}

    def resolve(self, model: str) -> ModelPricing:
        provider, name = split_provider(model)
        override = self._overrides.get(model) or self._overrides.get(name)
        if override is not None:
            return ModelPricing(model, provider, str(self.override_file), override)
        info = _exact_snapshot_model(PROVIDER_PREFIXES[provider], name)
        if info is None:
            where = self.override_file or "$AGX_HOME/prices.toml"
            raise UnknownModel(
                f"unknown model {model!r}: not an exact model name in the genai-prices snapshot. "
                f"Use a listed name (e.g. claude-sonnet-4-6), or add its prices to {where} "
                f'as [models."{model}"] with input_mtok and output_mtok (dollars per million tokens).',
                details={"field": "model", "model": model, "prices_file": str(where)},
            )
        return ModelPricing(model, provider, f"genai-prices:{info.id}", info.get_prices(datetime.now(UTC)))


def _load_overrides(path: Path) -> dict[str, gp.ModelPrice]:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UnknownModel(f"cannot read the prices file {path}: {exc}") from exc
    result: dict[str, gp.ModelPrice] = {}
    for name, entry in (data.get("models") or {}).items():
        if not isinstance(entry, dict) or "input_mtok" not in entry or "output_mtok" not in entry:
            raise UnknownModel(f"{path}: [models.{name!r}] needs input_mtok and output_mtok")
        result[name] = gp.ModelPrice(**{k: _price_value(path, name, entry[k]) for k in PRICE_KEYS if k in entry})
    return result


def _price_value(path: Path, name: str, value: Any) -> Decimal | gp.TieredPrices:
    try:
        if isinstance(value, dict):
            tiers = [gp.Tier(start=int(t["start"]), price=Decimal(str(t["price"]))) for t in value["tiers"]]
            return gp.TieredPrices(base=Decimal(str(value["base"])), tiers=tiers)
        price = Decimal(str(value))
    except (KeyError, TypeError, ArithmeticError, ValueError) as exc:
        raise UnknownModel(f"{path}: bad price for {name!r}: {value!r}") from exc
    if price < 0:
        raise UnknownModel(f"{path}: negative price for {name!r}")
    return price


@lru_cache(maxsize=256)
def _exact_snapshot_model(provider_id: str, name: str) -> gp.ModelInfo | None:
    """The snapshot model whose id, or one of its exact (equals / anchored regex) clauses, is ``name``.

    genai-prices itself also matches by prefix and substring, which would price a made-up
    ``claude-sonnet-4-6-turbo`` as ``claude-sonnet-4-6``; we never accept such a match.
    """
    snapshot = data_snapshot.get_snapshot()
    provider = next((p for p in snapshot.providers if p.id == provider_id), None)
    if provider is None:
        return None
    lowered = name.lower()
    for model in provider.models:
        if model.id in (lowered, _DATED.sub("", lowered)) or any(
            clause.is_match(lowered) for clause in _exact_clauses(model.match)
        ):
            return model
    return None


def _exact_clauses(clause: Any) -> Iterator[Any]:
    if isinstance(clause, gp.ClauseOr):
        for sub in clause.or_:
            yield from _exact_clauses(sub)
    elif isinstance(clause, gp.ClauseEquals) or (
        isinstance(clause, gp.ClauseRegex) and clause.regex.startswith("^") and clause.regex.endswith("$")
    ):
        yield clause
