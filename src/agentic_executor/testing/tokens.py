"""Token accounting of the fake Messages API: the deterministic tokenizer, the prompt's cacheable
segments, and the prompt cache that splits billed input into uncached / cache-write / cache-read.

Tokenizer rule (the single source of truth, used for input and output alike):

* a string costs ``ceil(len(utf8_bytes) / 4)`` tokens (``count_text``);
* the request itself costs ``REQUEST_OVERHEAD``;
* each tool definition costs ``TOOL_OVERHEAD`` + the string cost of its canonical JSON
  (``cache_control`` removed);
* a non-empty system prompt costs ``SYSTEM_OVERHEAD``, plus ``BLOCK_OVERHEAD`` + content per block;
* each message costs ``MESSAGE_OVERHEAD``, plus ``BLOCK_OVERHEAD`` + content per content block
  (a string ``content`` is one text block);
* block content (``block_tokens``): text → its text; thinking → its thinking text (the signature is
  free); redacted_thinking → its data; tool_use → name + canonical JSON of ``input``; tool_result →
  its string content, or ``BLOCK_OVERHEAD`` + content of each nested block; any other block →
  its canonical JSON.

Generated output costs ``block_tokens`` per block (no overheads), so a text of ``4 * n`` ASCII
characters is exactly ``n`` output tokens.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

REQUEST_OVERHEAD = 4
TOOL_OVERHEAD = 8
SYSTEM_OVERHEAD = 4
MESSAGE_OVERHEAD = 4
BLOCK_OVERHEAD = 2

TTL_5M = 300.0
TTL_1H = 3600.0
LOOKBACK_BLOCKS = 20
"""How many block boundaries before a breakpoint are checked for an earlier cache entry."""


def count_text(text: str) -> int:
    """Tokens of one string: ceil(utf-8 bytes / 4)."""
    return (len(text.encode("utf-8")) + 3) // 4


def canonical(obj: Any) -> str:
    """Canonical JSON (sorted keys, compact, UTF-8 kept) used for hashing and token counting."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def strip_cache_control(obj: Any) -> Any:
    """A copy of ``obj`` without any ``cache_control`` keys (they do not change the prompt)."""
    if isinstance(obj, dict):
        return {k: strip_cache_control(v) for k, v in obj.items() if k != "cache_control"}
    if isinstance(obj, list):
        return [strip_cache_control(v) for v in obj]
    return obj


def content_blocks(content: Any) -> list[Any]:
    """A message's ``content`` as a list of blocks (a string is one text block)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list):
        return content
    return []


def system_blocks(system: Any) -> list[Any]:
    """The ``system`` parameter as a list of text blocks (absent or empty → no blocks)."""
    if isinstance(system, str):
        return [{"type": "text", "text": system}] if system else []
    if isinstance(system, list):
        return system
    return []


def block_tokens(block: Any) -> int:
    """Tokens of one content block's content (input or output), without the block overhead."""
    if not isinstance(block, dict):
        return count_text(canonical(block))
    kind = block.get("type")
    if kind == "text":
        return count_text(str(block.get("text", "")))
    if kind == "thinking":
        return count_text(str(block.get("thinking", "")))
    if kind == "redacted_thinking":
        return count_text(str(block.get("data", "")))
    if kind == "tool_use":
        return count_text(str(block.get("name", ""))) + count_text(canonical(block.get("input", {})))
    if kind == "tool_result":
        inner = block.get("content", "")
        if isinstance(inner, str):
            return count_text(inner)
        if isinstance(inner, list):
            return sum(BLOCK_OVERHEAD + block_tokens(sub) for sub in inner)
        return 0
    return count_text(canonical(strip_cache_control(block)))


def _cache_ttl(obj: Any) -> float | None:
    """TTL of the breakpoint on ``obj`` (or nested in a tool_result), None if it has none."""
    if not isinstance(obj, dict):
        return None
    marker = obj.get("cache_control")
    if isinstance(marker, dict):
        return TTL_1H if marker.get("ttl") == "1h" else TTL_5M
    if obj.get("type") == "tool_result" and isinstance(obj.get("content"), list):
        ttls = [t for t in (_cache_ttl(sub) for sub in obj["content"]) if t is not None]
        return max(ttls) if ttls else None
    return None


@dataclass(frozen=True)
class Segment:
    """One piece of the canonical prompt (tools, then system, then messages)."""

    key: str
    """Canonical text of the piece; the cache key of a prefix is the hash of its keys."""
    tokens: int
    ttl: float | None = None
    """Set when the piece carries a ``cache_control`` breakpoint."""
    boundary: bool = False
    """True for tool definitions and content blocks: places where a cached prefix may end."""


def prompt_segments(body: Mapping[str, Any]) -> list[Segment]:
    """Split a request body's prompt into segments in canonical order: tools, system, messages."""
    segments = [Segment("request", REQUEST_OVERHEAD)]
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else []:
        text = canonical(strip_cache_control(tool))
        segments.append(Segment("tool:" + text, TOOL_OVERHEAD + count_text(text), _cache_ttl(tool), True))
    system = system_blocks(body.get("system"))
    if system:
        segments.append(Segment("system", SYSTEM_OVERHEAD))
        for block in system:
            key = "block:" + canonical(strip_cache_control(block))
            segments.append(Segment(key, BLOCK_OVERHEAD + block_tokens(block), _cache_ttl(block), True))
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else []:
        if not isinstance(message, dict):
            continue
        segments.append(Segment("role:" + str(message.get("role")), MESSAGE_OVERHEAD))
        for block in content_blocks(message.get("content")):
            key = "block:" + canonical(strip_cache_control(block))
            segments.append(Segment(key, BLOCK_OVERHEAD + block_tokens(block), _cache_ttl(block), True))
    auto = body.get("cache_control")
    if isinstance(auto, dict):
        # Top-level cache_control: a breakpoint on the last cacheable block.
        ttl = TTL_1H if auto.get("ttl") == "1h" else TTL_5M
        for i in range(len(segments) - 1, -1, -1):
            if segments[i].boundary:
                seg = segments[i]
                segments[i] = Segment(seg.key, seg.tokens, max(ttl, seg.ttl or 0.0), True)
                break
    return segments


def count_prompt(body: Mapping[str, Any]) -> int:
    """Total input tokens of a request body (what count_tokens returns)."""
    return sum(seg.tokens for seg in prompt_segments(body))


@dataclass(frozen=True)
class InputUsage:
    """How a request's input tokens are billed."""

    input_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    ephemeral_5m_input_tokens: int = 0
    ephemeral_1h_input_tokens: int = 0

    @property
    def total(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens


class PromptCache:
    """Prefix cache keyed by (model, hash of the canonical prompt prefix ending at a breakpoint)."""

    def __init__(self, min_tokens: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self.min_tokens = min_tokens
        self._clock = clock
        self._entries: dict[tuple[str, str], tuple[float, float]] = {}  # key → (expires_at, ttl)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def apply(self, model: str, segments: Sequence[Segment]) -> InputUsage:
        """Bill one request: read the longest cached prefix, write every breakpoint prefix."""
        cumulative: list[int] = []
        digests: list[str] = []
        running, digest = 0, b""
        for seg in segments:
            running += seg.tokens
            digest = hashlib.sha256(digest + seg.key.encode("utf-8")).digest()
            cumulative.append(running)
            digests.append(digest.hex())
        total = running
        breakpoints = [i for i, seg in enumerate(segments) if seg.ttl is not None]
        boundaries = [i for i, seg in enumerate(segments) if seg.boundary]
        now = self._clock()
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            read = 0
            for bp in breakpoints:
                k = boundaries.index(bp)
                for j in reversed(boundaries[max(0, k - LOOKBACK_BLOCKS + 1) : k + 1]):
                    if cumulative[j] <= read or cumulative[j] < self.min_tokens:
                        break
                    entry = self._entries.get((model, digests[j]))
                    if entry is not None:
                        self._entries[(model, digests[j])] = (now + entry[1], entry[1])
                        read = cumulative[j]
                        break
            created = {TTL_5M: 0, TTL_1H: 0}
            done = read
            for bp in breakpoints:
                ttl = segments[bp].ttl or TTL_5M
                if cumulative[bp] < self.min_tokens:
                    continue
                if cumulative[bp] > done:
                    created[ttl] += cumulative[bp] - done
                    done = cumulative[bp]
                old = self._entries.get((model, digests[bp]))
                keep = max(ttl, old[1]) if old else ttl
                self._entries[(model, digests[bp])] = (now + keep, keep)
        creation = created[TTL_5M] + created[TTL_1H]
        return InputUsage(
            input_tokens=total - read - creation,
            cache_creation_input_tokens=creation,
            cache_read_input_tokens=read,
            ephemeral_5m_input_tokens=created[TTL_5M],
            ephemeral_1h_input_tokens=created[TTL_1H],
        )
