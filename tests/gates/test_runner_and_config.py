"""Which gates run for a task type, and what happens when a gate cannot run or crashes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from agentic_executor.errors import BadInput
from agentic_executor.gates import GateContext, GateResult, get_gate, registered_gates
from agentic_executor.gates.config import GatesConfig, load_gates_config
from agentic_executor.gates.runner import UnregisteredGate, run_gates

PAGE = '<!DOCTYPE html><html lang="en"><title>t</title><header><h1>t</h1></header><main>x</main></html>'


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    site = tmp_path / "ws"
    site.mkdir()
    (site / "index.html").write_text(PAGE)
    return site


def test_default_gates_per_task_type() -> None:
    config = load_gates_config()
    assert config.gates_for("template-generation") == ["canon", "accessibility", "performance", "security"]
    assert config.gates_for("task") == ["security"]  # any type not listed
    assert config.gates_for(None) == ["security"]
    assert config.options_for("performance", "template-generation")["min_score"] == 90
    assert config.options_for("security", "template-generation")["min_severity"] == "low"  # 0 issues
    assert config.options_for("security", "task")["min_severity"] == "medium"  # bandit's notes do not block
    assert {g.name for g in registered_gates()} >= {"canon", "accessibility", "performance", "security"}


def test_a_users_file_is_merged_over_the_defaults(write_config: Callable[[str], GatesConfig], tmp_path: Path) -> None:
    config = write_config(
        """
[task_types.landing-page]
gates = ["canon", "performance"]
allow_unavailable = ["performance"]
options.performance = { min_score = 95 }

[gates.canon]
rules = "my-canon.toml"
"""
    )
    assert config.gates_for("landing-page") == ["canon", "performance"]
    assert config.gates_for("template-generation") == ["canon", "accessibility", "performance", "security"]
    assert config.options_for("performance", "landing-page")["min_score"] == 95
    assert config.options_for("performance", "template-generation")["min_score"] == 90
    assert config.options_for("canon", None)["rules"] == str(tmp_path / "my-canon.toml")  # beside the config
    assert config.allows_unavailable("landing-page", "performance")
    assert not config.allows_unavailable("template-generation", "performance")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[task_types.x\n", "cannot be read"),
        ('[task_types.x]\ngates = "canon"\n', "must be a list of gate names"),
        ('[gates.security]\nmin_severity = "critical"\n', "low, medium or high"),
    ],
)
def test_a_bad_config_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "gates.toml"
    path.write_text(text)
    with pytest.raises(BadInput, match=message):
        load_gates_config(path)


def test_a_missing_tool_fails_the_gate_unless_the_task_type_allows_it(
    workspace: Path, write_config: Callable[[str], GatesConfig]
) -> None:
    gates = [get_gate("accessibility"), get_gate("performance")]
    assert None not in gates
    strict = write_config('[tools]\nchromium = "/nonexistent/chromium"\n')
    results = run_gates(workspace, gates, config=strict, task_type="template-generation")  # type: ignore[arg-type]
    for result in results:
        assert not result.passed and "/nonexistent/chromium" in str(result.unavailable)
    lenient = write_config(
        '[tools]\nchromium = "/nonexistent/chromium"\n'
        '[task_types.template-generation]\nallow_unavailable = ["accessibility", "performance"]\n'
    )
    results = run_gates(workspace, gates, config=lenient, task_type="template-generation")  # type: ignore[arg-type]
    for result in results:
        assert result.passed and result.unavailable and "allows" in result.notes[-1]


def test_missing_lighthouse_makes_performance_unavailable(
    workspace: Path, write_config: Callable[[str], GatesConfig]
) -> None:
    config = write_config('[tools]\nlighthouse = "/nonexistent/lighthouse"\n')
    performance = get_gate("performance")
    assert performance is not None
    result = run_gates(workspace, [performance], config=config)[0]
    assert not result.passed and "Lighthouse" in str(result.unavailable)


class _Crashing:
    name = "crashing"

    def run(self, ctx: GateContext) -> GateResult:
        raise RuntimeError("boom")


class _Passing:
    name = "always"

    def run(self, ctx: GateContext) -> GateResult:
        assert ctx.preview_url.startswith("http://127.0.0.1:") and ctx.site.pages == ["index.html"]
        assert ctx.options == {"level": 3}
        return GateResult(self.name, passed=True, score=100)


def test_a_crashing_gate_fails_even_where_unavailable_is_allowed(
    workspace: Path, write_config: Callable[[str], GatesConfig]
) -> None:
    config = write_config(
        '[task_types.t]\nallow_unavailable = ["crashing", "nobody"]\n[task_types.t.options.always]\nlevel = 3\n'
    )
    crashed, passed, missing = run_gates(
        workspace, [_Crashing(), _Passing(), UnregisteredGate("nobody")], config=config, task_type="t"
    )
    assert not crashed.passed and crashed.error == "RuntimeError: boom"
    assert passed.passed and passed.score == 100
    assert missing.passed and missing.unavailable == "no gate named 'nobody' is registered"  # allowed here
