"""Model providers behind one protocol (``base.Provider``), chosen by the model name's prefix:

``claude-…`` (no prefix) → Anthropic · ``openai:NAME`` → OpenAI-compatible · ``replay:agt_…`` →
a recorded session played back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentic_executor.providers.base import ModelRequest, ModelResponse, Provider, RetryableProviderError

if TYPE_CHECKING:
    from agentic_executor.app import App

__all__ = ["ModelRequest", "ModelResponse", "Provider", "RetryableProviderError", "make_provider", "priced_model"]


def make_provider(app: App, model: str, *, base_url: str | None = None, api_key: str | None = None) -> Provider:
    prefix, _, rest = model.partition(":")
    if prefix == "openai" and rest:
        from agentic_executor.providers.openai import OpenAIProvider

        return OpenAIProvider(api_key=api_key, base_url=base_url)
    if prefix == "replay" and rest:
        from agentic_executor.providers.replay import ReplayProvider

        return ReplayProvider(app.db, rest)
    from agentic_executor.providers.anthropic import AnthropicProvider

    return AnthropicProvider(api_key=api_key, base_url=base_url, thinking_mode=app.settings.thinking_mode)


def priced_model(app: App, model: str) -> str:
    """The model whose prices apply: a replay is priced as the session it replays."""
    prefix, _, rest = model.partition(":")
    if prefix == "replay" and rest:
        from agentic_executor.store import queries

        with app.db.transaction() as conn:
            return priced_model(app, queries.get_session(conn, rest).model)
    return model
