"""The dashboard's pure parts: chart geometry, timeline wording, the login redirect target."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentic_executor.dashboard import charts
from agentic_executor.dashboard.events import describe
from agentic_executor.dashboard.pages import _safe_next


def _ys(points: str) -> list[float]:
    return [float(p.split(",")[1]) for p in points.split()]


@given(
    costs=st.lists(st.floats(min_value=0, max_value=50, allow_nan=False), max_size=60),
    budget=st.floats(min_value=0.01, max_value=100),
)
def test_spend_chart_stays_inside_its_box_and_keeps_the_lines_in_order(costs: list[float], budget: float) -> None:
    chart = charts.spend_chart(costs, budget)
    ys = _ys(chart.points)
    assert len(ys) == len(costs) + 1 and len(chart.dots) == len(costs)
    assert all(charts.TOP <= y <= chart.bottom_y for y in ys)
    assert all(a >= b for a, b in itertools.pairwise(ys))  # cumulative spend never goes down
    assert charts.TOP <= chart.budget_y <= chart.warning_y <= chart.bottom_y  # 80% is under the budget line
    assert chart.ticks[-1].y <= chart.budget_y  # the axis reaches past the budget


def test_spend_chart_points_at_the_figures() -> None:
    chart = charts.spend_chart([0.5, 0.3, 0.2], 1.0)
    assert [tip for *_, tip in chart.dots] == [
        "iteration 1: $0.5 spent",
        "iteration 2: $0.8 spent",
        "iteration 3: $1.00 spent",
    ]
    assert _ys(chart.points)[-1] == chart.budget_y  # spent exactly the budget: on the line


def test_bar_chart_scales_to_the_largest_day() -> None:
    chart = charts.bar_chart([("11-20", 0.0), ("11-21", 2.5), ("11-22", 5.0)])
    assert [b.value for b in chart.bars] == ["$0", "$2.50", "$5.00"]
    assert chart.bars[0].height == 0 and chart.bars[2].height > chart.bars[1].height > 0
    assert all(b.x + b.width <= chart.right_x for b in chart.bars)


@pytest.mark.parametrize(
    ("value", "shown"), [(0, "$0"), (0.0123, "$0.0123"), (0.5, "$0.5"), (1, "$1.00"), (1234.5, "$1,234.50")]
)
def test_dollars(value: float, shown: str) -> None:
    assert charts.dollars(value) == shown


def test_timeline_lines_say_what_happened() -> None:
    def line(kind: str, **data: object) -> tuple[str, str, str]:
        d = describe({"id": 1, "type": kind, "data": data, "createdAt": "2026-11-24T10:00:00.123"})
        return d.title, d.detail, d.tone

    assert line("iteration_completed", iteration=3, cost_micros=12_300, actions=["write_file"]) == (
        "Iteration 3 done",
        "$0.0123 · write_file",
        "",
    )
    assert line("budget_warning", percent_used=81.5, remaining_micros=370_000) == (
        "Budget warning: 81.5% used",
        "$0.37 left",
        "warn",
    )
    assert line("gate_result", gate="performance", passed=False, score=72.0, findings_total=4)[0::2] == (
        "Gate performance: failed",
        "bad",
    )
    assert line("status_changed", status="budget_exhausted") == ("Status: budget exhausted", "", "bad")
    assert line("something_new", x=1)[0] == "Something new"  # unknown events still show


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/ui/sessions/agt_1", "/ui/sessions/agt_1"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_login_only_returns_to_this_server(target: str | None, safe: str) -> None:
    assert _safe_next(target) == safe
