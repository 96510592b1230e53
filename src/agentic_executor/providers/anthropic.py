"""Claude through the official ``anthropic`` SDK: streaming, extended thinking, prompt caching.

The SDK's own retries are off (``max_retries=0``): each attempt must be reserved and settled by
the budget guard. Thinking blocks are stored and sent back exactly as received (signatures
included). Caching puts at most four breakpoints: the tool list, the system prompt, and the
last two user turns, so each request reads the prefix that the previous one wrote.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import anthropic
import httpx2

from agentic_executor.budget.prices import Usage
from agentic_executor.errors import ProviderError
from agentic_executor.providers.base import Message, ModelRequest, ModelResponse, RetryableProviderError

RETRYABLE_STATUSES = {408, 409, 429, 500, 502, 503, 504, 529}
CACHE = {"type": "ephemeral"}


class AnthropicProvider:
    name = "anthropic"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 600.0,
        thinking_mode: str = "enabled",
    ) -> None:
        key = api_key or os.environ.get("ANTHROPIC_API_KEY")
        url = base_url or os.environ.get("ANTHROPIC_BASE_URL")
        if not key:
            raise ProviderError("ANTHROPIC_API_KEY is not set: export it, or run `agx demo` for the simulated model")
        self.thinking_mode = thinking_mode
        self.client = anthropic.Anthropic(api_key=key, base_url=url, max_retries=0, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def count_input_tokens(self, request: ModelRequest) -> int:
        params = self._params(request)
        params.pop("max_tokens")
        try:
            return int(self.client.messages.count_tokens(**params).input_tokens)
        except anthropic.APIError as exc:
            raise _translate(exc) from exc

    def complete(self, request: ModelRequest) -> ModelResponse:
        try:
            with self.client.messages.stream(**self._params(request)) as stream:
                message = stream.get_final_message()
        except anthropic.APIError as exc:
            raise _translate(exc) from exc
        except httpx2.HTTPError as exc:  # the connection broke mid-stream: the SDK does not wrap these
            raise RetryableProviderError(f"the stream broke: {exc}", billed=True) from exc
        u = message.usage
        usage = Usage(
            input_tokens=u.input_tokens,
            output_tokens=u.output_tokens,
            cache_read_tokens=u.cache_read_input_tokens or 0,
            cache_write_tokens=u.cache_creation_input_tokens or 0,
        )
        content = [block.model_dump(mode="json", exclude_none=True) for block in message.content]
        return ModelResponse(content, message.stop_reason, usage, message.model, getattr(message, "_request_id", None))

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        system: list[dict[str, Any]] = [{"type": "text", "text": request.system}]
        tools = copy.deepcopy(request.tools)
        messages = request.messages
        if request.cache:
            system[0]["cache_control"] = CACHE
            if tools:
                tools[-1]["cache_control"] = CACHE
            messages = _with_tail_breakpoints(messages)
        params: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "system": system,
            "messages": messages,
        }
        if tools:
            params["tools"] = tools
        if request.thinking_budget:
            params["thinking"] = (
                {"type": "adaptive"}
                if self.thinking_mode == "adaptive"
                else {"type": "enabled", "budget_tokens": request.thinking_budget}
            )
        return params


def _with_tail_breakpoints(messages: list[Message]) -> list[Message]:
    """A copy of ``messages`` with a cache breakpoint on the last block of the last two user turns."""
    result = list(messages)
    marked = 0
    for i in range(len(result) - 1, -1, -1):
        if marked == 2:
            break
        msg = result[i]
        if msg["role"] != "user":
            continue
        content = msg["content"]
        blocks: list[dict[str, Any]] = (
            [{"type": "text", "text": content}] if isinstance(content, str) else copy.deepcopy(content)
        )
        if not blocks:
            continue
        blocks[-1]["cache_control"] = CACHE
        result[i] = {"role": "user", "content": blocks}
        marked += 1
    return result


def _translate(exc: anthropic.APIError) -> Exception:
    if isinstance(exc, anthropic.APIConnectionError):  # includes timeouts: the model may have run
        return RetryableProviderError(f"connection to the model failed: {exc}", billed=True)
    if isinstance(exc, anthropic.APIStatusError):
        status = exc.status_code
        if status == 200:  # an error event in the middle of a stream: output may be billed
            return RetryableProviderError(f"stream interrupted: {exc.message}", status=status, billed=True)
        if status in RETRYABLE_STATUSES or status >= 500:
            return RetryableProviderError(exc.message, status=status, retry_after=_retry_after(exc.response))
        return ProviderError(f"the model API refused the request ({status}): {exc.message}", details={"status": status})
    return ProviderError(f"the model API failed: {exc}")


def _retry_after(response: Any) -> float | None:
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
