"""Fixtures for the gate tests: the fixture sites, a gates config written to a file, and the real tools.

Browser gates run on Debian's Chromium and the project's Lighthouse (``.ci/run`` installs both).
Without them the browser tests are skipped with the reason, except in CI, where they fail.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from agentic_executor.gates.browser import BrowserUnavailable, find_chromium
from agentic_executor.gates.config import GatesConfig, load_gates_config
from agentic_executor.gates.lighthouse import LighthouseUnavailable, find_lighthouse

from ..conftest import require_tool

SITES = Path(__file__).resolve().parents[1] / "fixtures" / "gates"


@pytest.fixture(scope="session")
def browser_tools() -> None:
    """Skip (fail in CI) unless Chromium and Lighthouse are installed."""
    require_tool(find_chromium, BrowserUnavailable)
    require_tool(find_lighthouse, LighthouseUnavailable)


def copy_site(name: str, tmp: Path) -> Path:
    """A private copy of a fixture site: a gate must never depend on the repository's own files."""
    target = tmp / name
    shutil.copytree(SITES / name, target)
    return target


@pytest.fixture
def make_site(tmp_path: Path) -> Callable[[str], Path]:
    return lambda name: copy_site(name, tmp_path)


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], GatesConfig]:
    """Write a gates.toml (merged over the defaults) and load it."""

    def write(text: str) -> GatesConfig:
        path = tmp_path / "gates.toml"
        path.write_text(text)
        return load_gates_config(path)

    return write
