"""The one small protocol every model provider speaks.

A provider makes exactly one attempt per ``complete`` call: retries belong to the budget guard,
which reserves and settles every attempt. Messages, tools and content blocks use the Anthropic
Messages API shapes (plain dicts) everywhere inside the project; a provider for another API
translates at its edge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from agentic_executor.budget.prices import Usage

Block = dict[str, Any]
Message = dict[str, Any]


@dataclass
class ModelRequest:
    model: str  # the provider's own model name (no "openai:" prefix)
    system: str
    messages: list[Message]
    tools: list[dict[str, Any]] = field(default_factory=list)
    max_tokens: int = 1024
    thinking_budget: int | None = None  # None: thinking off
    cache: bool = True  # add prompt-caching breakpoints


@dataclass
class ModelResponse:
    content: list[Block]  # exactly as received: thinking blocks keep their signatures
    stop_reason: str | None
    usage: Usage
    model: str
    request_id: str | None = None


class RetryableProviderError(Exception):
    """A transient failure (429, 529, 5xx, connection): the guard may try again.

    ``billed`` says whether the attempt could have cost money (the request may have reached
    the model, e.g. a connection dropped mid-stream); if so its reservation is settled at the
    worst case, otherwise at zero.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None, billed: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.billed = billed


class Provider(Protocol):
    name: str

    def count_input_tokens(self, request: ModelRequest) -> int:
        """An upper bound of the input tokens ``request`` will be billed for (cache included)."""
        ...

    def complete(self, request: ModelRequest) -> ModelResponse:
        """One attempt. Raises RetryableProviderError or agentic_executor.errors.ProviderError."""
        ...
