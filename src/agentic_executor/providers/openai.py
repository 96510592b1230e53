"""Any OpenAI-compatible chat-completions endpoint (OpenAI, vLLM, Ollama) behind our protocol.

Messages are translated at this edge: Anthropic-shaped blocks in, Anthropic-shaped blocks out.
Such endpoints have no token-counting call, so ``count_input_tokens`` returns a safe upper
bound: no tokenizer emits more tokens than the UTF-8 bytes of the text, plus a few per message.
"""

from __future__ import annotations

import json
import os
from typing import Any

import openai

from agentic_executor.budget.prices import Usage
from agentic_executor.errors import ProviderError
from agentic_executor.providers.base import Message, ModelRequest, ModelResponse, RetryableProviderError

RETRYABLE_STATUSES = {408, 409, 429, 500, 502, 503, 504, 529}
PER_MESSAGE_OVERHEAD = 8


class OpenAIProvider:
    name = "openai"

    def __init__(self, *, api_key: str | None = None, base_url: str | None = None, timeout: float = 600.0) -> None:
        key = api_key or os.environ.get("OPENAI_API_KEY") or ("unused" if base_url else None)
        url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not key and not url:
            raise ProviderError("OPENAI_API_KEY is not set (or set OPENAI_BASE_URL for a local endpoint)")
        self.client = openai.OpenAI(api_key=key or "unused", base_url=url, max_retries=0, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def count_input_tokens(self, request: ModelRequest) -> int:
        params = self._params(request)
        size = len(json.dumps(params["messages"], ensure_ascii=False).encode())
        size += len(json.dumps(params.get("tools", []), ensure_ascii=False).encode())
        return size + PER_MESSAGE_OVERHEAD * (len(params["messages"]) + 2)

    def complete(self, request: ModelRequest) -> ModelResponse:
        try:
            completion = self.client.chat.completions.create(**self._params(request))
        except openai.APIConnectionError as exc:
            raise RetryableProviderError(f"connection to the model failed: {exc}", billed=True) from exc
        except openai.APIStatusError as exc:
            if exc.status_code in RETRYABLE_STATUSES or exc.status_code >= 500:
                after = exc.response.headers.get("retry-after")
                raise RetryableProviderError(
                    str(exc), status=exc.status_code, retry_after=float(after) if after and after.isdigit() else None
                ) from exc
            raise ProviderError(f"the model API refused the request ({exc.status_code}): {exc}") from exc
        choice = completion.choices[0]
        content: list[dict[str, Any]] = []
        if choice.message.content:
            content.append({"type": "text", "text": choice.message.content})
        for call in choice.message.tool_calls or []:
            fn = getattr(call, "function", None)
            if fn is None:
                continue
            try:
                args = json.loads(fn.arguments or "{}")
            except json.JSONDecodeError:
                args = {"_unparsed_arguments": fn.arguments}
            content.append({"type": "tool_use", "id": call.id, "name": fn.name, "input": args})
        u = completion.usage
        cached = (u.prompt_tokens_details.cached_tokens or 0) if u and u.prompt_tokens_details else 0
        usage = Usage(
            input_tokens=(u.prompt_tokens - cached) if u else 0,
            cache_read_tokens=cached,
            output_tokens=u.completion_tokens if u else 0,
        )
        stop = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}.get(
            choice.finish_reason or "", choice.finish_reason
        )
        return ModelResponse(content, stop, usage, completion.model, completion.id)

    def _params(self, request: ModelRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": request.model,
            "max_completion_tokens": request.max_tokens,
            "messages": [{"role": "system", "content": request.system}, *to_chat_messages(request.messages)],
        }
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": t["name"],
                        "description": t.get("description", ""),
                        "parameters": t["input_schema"],
                    },
                }
                for t in request.tools
            ]
        return params


def to_chat_messages(messages: list[Message]) -> list[dict[str, Any]]:
    """Anthropic turns → chat-completions messages (tool results become ``tool`` messages)."""
    out: list[dict[str, Any]] = []
    for msg in messages:
        blocks = [{"type": "text", "text": msg["content"]}] if isinstance(msg["content"], str) else msg["content"]
        text = "\n".join(b["text"] for b in blocks if b.get("type") == "text")
        if msg["role"] == "assistant":
            calls = [
                {
                    "id": b["id"],
                    "type": "function",
                    "function": {"name": b["name"], "arguments": json.dumps(b.get("input", {}))},
                }
                for b in blocks
                if b.get("type") == "tool_use"
            ]
            out.append({"role": "assistant", "content": text or None, **({"tool_calls": calls} if calls else {})})
            continue
        for b in blocks:
            if b.get("type") == "tool_result":
                body = b.get("content", "")
                if isinstance(body, list):
                    body = "\n".join(x.get("text", "") for x in body)
                out.append({"role": "tool", "tool_call_id": b["tool_use_id"], "content": body})
        if text:
            out.append({"role": "user", "content": text})
    return out
