"""Fixtures for end-to-end engine tests: an App on the test database and the fake model server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agentic_executor.app import App
from agentic_executor.config import Settings
from agentic_executor.providers.anthropic import AnthropicProvider
from agentic_executor.testing import FakeModelServer


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeModelServer]:
    with FakeModelServer(scenario="builder") as server:
        yield server


@pytest.fixture
def app(db_url: str, agx_home: Path) -> Iterator[App]:
    settings = Settings(home=agx_home, database_url=db_url, retry_base_delay=0.01, command_timeout_s=20)
    opened = App.open(settings)
    yield opened
    opened.close()


@pytest.fixture
def provider_for(fake_server: FakeModelServer) -> Iterator[object]:
    made: list[AnthropicProvider] = []

    def make(scenario: str) -> AnthropicProvider:
        provider = AnthropicProvider(api_key="test", base_url=fake_server.url_for(scenario))
        made.append(provider)
        return provider

    yield make
    for provider in made:
        provider.close()
