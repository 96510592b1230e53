"""Wire format of the fake Messages API: error bodies, thinking signatures, turning a scripted reply
into a final message (truncation, stop reasons, usage), and its JSON / SSE encodings."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentic_executor.testing.tokens import InputUsage, block_tokens

DEFAULT_SECRET = b"agentic-executor fake model signing key"

ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}

DEFAULT_ERROR_MESSAGES: dict[int, str] = {
    429: "This request would exceed the rate limit for your organization. Please retry after a short wait.",
    500: "Internal server error",
    529: "Overloaded",
}


def new_request_id() -> str:
    return "req_" + uuid.uuid4().hex[:24]


def error_type(status: int) -> str:
    return ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")


def error_body(status: int, message: str, request_id: str) -> dict[str, Any]:
    """The real API's error shape."""
    return {
        "type": "error",
        "error": {"type": error_type(status), "message": message},
        "request_id": request_id,
    }


def sign_thinking(secret: bytes, thinking: str) -> str:
    """Signature of a thinking block: base64 HMAC-SHA256 of its text under the server secret."""
    mac = hmac.new(secret, b"thinking\x00" + thinking.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(b"agx1" + mac).decode("ascii")


def signature_valid(secret: bytes, thinking: Any, signature: Any) -> bool:
    if not isinstance(thinking, str) or not isinstance(signature, str):
        return False
    return hmac.compare_digest(sign_thinking(secret, thinking), signature)


@dataclass(frozen=True)
class Generated:
    """A reply after max_tokens / stop sequences / thinking budget were applied."""

    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int


def _cut_to_tokens(text: str, tokens: int) -> str:
    """Longest prefix of ``text`` that costs at most ``tokens`` tokens."""
    data = text.encode("utf-8")[: max(tokens, 0) * 4]
    return data.decode("utf-8", errors="ignore")


def finalize(
    blocks: Sequence[Mapping[str, Any]],
    *,
    max_tokens: int,
    stop_sequences: Sequence[str] = (),
    thinking_budget: int | None = None,
    secret: bytes = DEFAULT_SECRET,
) -> Generated:
    """Apply the generation limits to scripted blocks and sign thinking blocks.

    Blocks are emitted in order while they fit in ``max_tokens``; the first one that does not fit is
    cut (text / thinking) or dropped (tool_use), and the reply stops with ``max_tokens``. A stop
    sequence found in a text block cuts the text there and ends the reply."""
    out: list[dict[str, Any]] = []
    remaining = max_tokens
    stop_reason: str | None = None
    stop_sequence: str | None = None
    for raw in blocks:
        block = dict(raw)
        kind = block.get("type")
        if kind == "thinking":
            text = str(block.get("thinking", ""))
            if thinking_budget is not None and block_tokens(block) > thinking_budget:
                text = _cut_to_tokens(text, thinking_budget)
            block = {"type": "thinking", "thinking": text}
        elif kind == "text":
            text = str(block.get("text", ""))
            hits = [(text.find(s), s) for s in stop_sequences if s and s in text]
            if hits:
                cut, stop_sequence = min(hits)
                block = {"type": "text", "text": text[:cut]}
                stop_reason = "stop_sequence"
            else:
                block = {"type": "text", "text": text}
        elif kind == "tool_use":
            block = {"type": "tool_use", "id": block["id"], "name": block["name"], "input": block["input"]}
        cost = block_tokens(block)
        if cost > remaining:
            stop_reason, stop_sequence = "max_tokens", None
            if kind == "text":
                block["text"] = _cut_to_tokens(block["text"], remaining)
            elif kind == "thinking":
                block["thinking"] = _cut_to_tokens(block["thinking"], remaining)
            else:
                break
            if block_tokens(block) > 0:
                out.append(block)
            break
        out.append(block)
        remaining -= cost
        if stop_reason == "stop_sequence":
            break
    for block in out:
        if block["type"] == "thinking":
            block["signature"] = sign_thinking(secret, block["thinking"])
    if stop_reason is None:
        stop_reason = "tool_use" if any(b["type"] == "tool_use" for b in out) else "end_turn"
    used = sum(block_tokens(b) for b in out)
    return Generated(out, stop_reason, stop_sequence, max(1, used))


def usage_json(usage: InputUsage, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "cache_creation_input_tokens": usage.cache_creation_input_tokens,
        "cache_read_input_tokens": usage.cache_read_input_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": usage.ephemeral_5m_input_tokens,
            "ephemeral_1h_input_tokens": usage.ephemeral_1h_input_tokens,
        },
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def message_json(message_id: str, model: str, generated: Generated, usage: InputUsage) -> dict[str, Any]:
    """The non-streaming response body."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": generated.content,
        "stop_reason": generated.stop_reason,
        "stop_sequence": generated.stop_sequence,
        "usage": usage_json(usage, generated.output_tokens),
    }


def sse(event: str, data: Mapping[str, Any]) -> bytes:
    """One server-sent event: ``event: X\\ndata: {json}\\n\\n``."""
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


_WORDS = re.compile(r"\S+\s*|\s+")


def text_chunks(text: str, words_per_chunk: int = 3) -> list[str]:
    """Split text into several deltas of a few words each (like the real stream)."""
    words = _WORDS.findall(text)
    return ["".join(words[i : i + words_per_chunk]) for i in range(0, len(words), words_per_chunk)]


def json_chunks(text: str, size: int = 40) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _start(index: int, block: Mapping[str, Any]) -> bytes:
    return sse("content_block_start", {"type": "content_block_start", "index": index, "content_block": block})


def _delta(index: int, delta: Mapping[str, Any]) -> bytes:
    return sse("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})


def _block_events(index: int, block: Mapping[str, Any]) -> Iterator[bytes]:
    kind = block["type"]
    if kind == "text":
        yield _start(index, {"type": "text", "text": ""})
        for piece in text_chunks(block["text"]):
            yield _delta(index, {"type": "text_delta", "text": piece})
    elif kind == "thinking":
        yield _start(index, {"type": "thinking", "thinking": "", "signature": ""})
        for piece in text_chunks(block["thinking"]):
            yield _delta(index, {"type": "thinking_delta", "thinking": piece})
        yield _delta(index, {"type": "signature_delta", "signature": block["signature"]})
    elif kind == "tool_use":
        yield _start(index, {"type": "tool_use", "id": block["id"], "name": block["name"], "input": {}})
        for piece in ["", *json_chunks(json.dumps(block["input"], ensure_ascii=False))]:
            yield _delta(index, {"type": "input_json_delta", "partial_json": piece})
    else:  # pragma: no cover - scenarios only produce the three kinds above
        yield _start(index, block)
    yield sse("content_block_stop", {"type": "content_block_stop", "index": index})


def stream_events(message: Mapping[str, Any], *, error: Mapping[str, Any] | None = None) -> Iterator[bytes]:
    """The SSE sequence of the real API for a final message (``message_json`` output).

    With ``error``, the stream fails right after ``message_start`` with an ``event: error``."""
    usage = dict(message["usage"])
    start = {
        **message,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    yield sse("message_start", {"type": "message_start", "message": start})
    if error is not None:
        yield sse("error", error)
        return
    yield sse("ping", {"type": "ping"})
    for index, block in enumerate(message["content"]):
        yield from _block_events(index, block)
    delta_usage = {
        k: usage[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
    }
    yield sse(
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]},
            "usage": delta_usage,
        },
    )
    yield sse("message_stop", {"type": "message_stop"})
