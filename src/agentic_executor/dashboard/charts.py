"""Chart geometry for the dashboard's inline SVG (no chart library, no script): pure functions.

Each chart is a fixed ``viewBox`` scaled by CSS; the templates draw what these return. Every
chart on a page also has a table with the same numbers, for screen readers and for exactness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 28  # margins for the axis labels
WARNING_SHARE = 0.8


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class SpendChart:
    """Cumulative spend per iteration against the budget line and its 80% warning mark."""

    points: str  # the polyline's "x,y x,y ..."
    dots: list[tuple[float, float, str]]  # x, y, tooltip
    budget_y: float
    warning_y: float
    ticks: list[Tick]
    x_labels: list[tuple[float, str]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_x: int = WIDTH - RIGHT
    bottom_y: int = HEIGHT - BOTTOM


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    ticks: list[Tick] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_x: int = WIDTH - RIGHT
    bottom_y: int = HEIGHT - BOTTOM


def dollars(value: float) -> str:
    """$0.0123 for small amounts, $12.34 for large ones."""
    if value == 0:
        return "$0"
    if abs(value) < 1:
        return f"${value:.4f}".rstrip("0").rstrip(".")
    return f"${value:,.2f}"


def _scale(top_value: float) -> tuple[float, list[Tick]]:
    """A round upper bound for the y axis and four ticks up to it."""
    if top_value <= 0:
        top_value = 1.0
    step = _nice(top_value / 4)
    upper = step * 4
    while upper < top_value:
        upper += step
    ticks = [Tick(_y(step * i, upper), dollars(step * i)) for i in range(round(upper / step) + 1)]
    return upper, ticks


def _nice(raw: float) -> float:
    magnitude = 10.0 ** _floor_log10(raw)
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _floor_log10(value: float) -> int:
    exponent = 0
    while value >= 10:
        value /= 10
        exponent += 1
    while value < 1:
        value *= 10
        exponent -= 1
    return exponent


def _y(value: float, upper: float) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return round(TOP + plot * (1 - value / upper), 1)


def spend_chart(costs: Sequence[float], budget: float) -> SpendChart:
    """``costs``: the dollars of each iteration, in order; ``budget``: the session's allocation."""
    cumulative, total = [], 0.0
    for cost in costs:
        total += cost
        cumulative.append(total)
    upper, ticks = _scale(max(budget, total) * 1.05)
    plot_w = WIDTH - LEFT - RIGHT
    n = len(cumulative)
    xs = [LEFT + plot_w * (i + 1) / max(n, 1) for i in range(n)]
    points = [(LEFT, _y(0, upper))] + [(round(x, 1), _y(v, upper)) for x, v in zip(xs, cumulative, strict=True)]
    every = max(1, n // 8)
    return SpendChart(
        points=" ".join(f"{x},{y}" for x, y in points),
        dots=[
            (round(x, 1), _y(v, upper), f"iteration {i + 1}: {dollars(v)} spent")
            for i, (x, v) in enumerate(zip(xs, cumulative, strict=True))
        ],
        budget_y=_y(budget, upper),
        warning_y=_y(budget * WARNING_SHARE, upper),
        ticks=ticks,
        x_labels=[(round(x, 1), str(i + 1)) for i, x in enumerate(xs) if (i + 1) % every == 0 or i == n - 1],
    )


def bar_chart(values: Sequence[tuple[str, float]]) -> BarChart:
    """One bar per (label, dollars), left to right."""
    upper, ticks = _scale(max((v for _, v in values), default=0.0) * 1.05)
    plot_w = WIDTH - LEFT - RIGHT
    slot = plot_w / max(len(values), 1)
    bars = []
    for i, (label, value) in enumerate(values):
        y = _y(value, upper)
        bars.append(
            Bar(
                x=round(LEFT + slot * i + slot * 0.15, 1),
                y=y,
                width=round(slot * 0.7, 1),
                height=round(HEIGHT - BOTTOM - y, 1),
                label=label,
                value=dollars(value),
            )
        )
    return BarChart(bars=bars, ticks=ticks)
