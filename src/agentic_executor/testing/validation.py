"""Request validation of the fake Messages API: the 400 invalid_request_error checks the real API makes
that an agent loop can get wrong (required fields, thinking budget, cache breakpoints, tool_use /
tool_result pairing, tampered thinking signatures)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentic_executor.testing.tokens import content_blocks, system_blocks
from agentic_executor.testing.wire import signature_valid

MAX_CACHE_BREAKPOINTS = 4
MIN_THINKING_BUDGET = 1024


class InvalidRequest(Exception):
    """A request the real API would reject with 400 invalid_request_error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def thinking_enabled(body: Mapping[str, Any]) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive", "between_tools")


def thinking_budget(body: Mapping[str, Any]) -> int | None:
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") == "enabled":
        budget = thinking.get("budget_tokens")
        return budget if isinstance(budget, int) else None
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count_breakpoints(obj: Any) -> int:
    if isinstance(obj, dict):
        own = 1 if isinstance(obj.get("cache_control"), dict) else 0
        return own + sum(_count_breakpoints(v) for k, v in obj.items() if k != "cache_control")
    if isinstance(obj, list):
        return sum(_count_breakpoints(v) for v in obj)
    return 0


def _check_cache_control(body: Mapping[str, Any]) -> None:
    found = _count_breakpoints([body.get("tools"), body.get("system"), body.get("messages")])
    if isinstance(body.get("cache_control"), dict):
        found += 1
    if found > MAX_CACHE_BREAKPOINTS:
        raise InvalidRequest(
            f"A maximum of {MAX_CACHE_BREAKPOINTS} blocks with cache_control may be provided. Found {found}."
        )


def _check_tools(body: Mapping[str, Any]) -> None:
    tools = body.get("tools")
    if tools is None:
        return
    if not isinstance(tools, list):
        raise InvalidRequest("tools: Input should be a valid list")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str) or not tool["name"]:
            raise InvalidRequest(f"tools.{i}.name: Field required")
        custom = "type" not in tool or tool.get("type") == "custom"
        if custom and not isinstance(tool.get("input_schema"), dict):
            raise InvalidRequest(f"tools.{i}.custom.input_schema: Field required")


def _check_system(body: Mapping[str, Any]) -> None:
    system = body.get("system")
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list):
        raise InvalidRequest("system: Input should be a valid string or list of text blocks")
    for i, block in enumerate(system_blocks(system)):
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            raise InvalidRequest(f"system.{i}: Input should be a valid text block")


def _check_messages(body: Mapping[str, Any], secret: bytes) -> None:
    if "messages" not in body:
        raise InvalidRequest("messages: Field required")
    messages = body["messages"]
    if not isinstance(messages, list):
        raise InvalidRequest("messages: Input should be a valid list")
    if not messages:
        raise InvalidRequest("messages: at least one message is required")
    previous_tool_uses: set[str] = set()
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise InvalidRequest(f"messages.{i}: Input should be a valid dictionary")
        role = message.get("role")
        if role not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if not isinstance(content, (str, list)):
            raise InvalidRequest(f"messages.{i}.content: Field required")
        if isinstance(content, str) and not content and i < len(messages) - 1:
            raise InvalidRequest(f"messages.{i}: all messages must have non-empty content")
        tool_uses: set[str] = set()
        results: set[str] = set()
        for j, block in enumerate(content_blocks(content)):
            where = f"messages.{i}.content.{j}"
            if not isinstance(block, dict) or not isinstance(block.get("type"), str):
                raise InvalidRequest(f"{where}: Input should be a valid content block")
            kind = block["type"]
            if kind == "text" and (not isinstance(block.get("text"), str) or not block["text"]):
                if isinstance(content, list):
                    raise InvalidRequest(f"{where}.text: text content blocks must be non-empty")
            elif kind == "thinking":
                if role != "assistant":
                    raise InvalidRequest(f"{where}: thinking blocks may only appear in assistant messages")
                if not signature_valid(secret, block.get("thinking"), block.get("signature")):
                    raise InvalidRequest(f"{where}: Invalid signature in thinking block")
            elif kind == "tool_use":
                if role != "assistant":
                    raise InvalidRequest(f"{where}: tool_use blocks may only appear in assistant messages")
                if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                    raise InvalidRequest(f"{where}.id: Field required")
                if not isinstance(block.get("input"), dict):
                    raise InvalidRequest(f"{where}.input: Input should be a valid dictionary")
                tool_uses.add(block["id"])
            elif kind == "tool_result":
                if role != "user":
                    raise InvalidRequest(f"{where}: tool_result blocks may only appear in user messages")
                tool_use_id = block.get("tool_use_id")
                if tool_use_id not in previous_tool_uses:
                    raise InvalidRequest(
                        f"{where}: unexpected `tool_use_id` found in `tool_result` blocks: {tool_use_id}. "
                        "Each `tool_result` block must have a corresponding `tool_use` block in the "
                        "previous message."
                    )
                results.add(tool_use_id)
        if previous_tool_uses - results:
            missing = ", ".join(sorted(previous_tool_uses - results))
            raise InvalidRequest(
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks immediately after: "
                f"{missing}. Each `tool_use` block must have a corresponding `tool_result` block in the "
                "next message."
            )
        previous_tool_uses = tool_uses


def validate_count_tokens(body: Any, secret: bytes) -> None:
    """Checks for POST /v1/messages/count_tokens (max_tokens and thinking budget are not required)."""
    if not isinstance(body, dict):
        raise InvalidRequest("Request body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("model: Field required")
    _check_system(body)
    _check_tools(body)
    _check_messages(body, secret)
    _check_cache_control(body)


def validate_create(body: Any, secret: bytes) -> None:
    """Checks for POST /v1/messages."""
    if not isinstance(body, dict):
        raise InvalidRequest("Request body must be a JSON object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise InvalidRequest("model: Field required")
    if "max_tokens" not in body:
        raise InvalidRequest("max_tokens: Field required")
    max_tokens = body["max_tokens"]
    if not _is_int(max_tokens):
        raise InvalidRequest("max_tokens: Input should be a valid integer")
    if max_tokens < 1:
        raise InvalidRequest("max_tokens: Input should be greater than or equal to 1")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequest("stream: Input should be a valid boolean")
    stops = body.get("stop_sequences")
    if stops is not None and (not isinstance(stops, list) or not all(isinstance(s, str) for s in stops)):
        raise InvalidRequest("stop_sequences: Input should be a valid list of strings")
    thinking = body.get("thinking")
    if thinking is not None:
        kind = thinking.get("type") if isinstance(thinking, dict) else None
        if kind == "enabled":
            budget = thinking.get("budget_tokens")
            if not _is_int(budget):
                raise InvalidRequest("thinking.enabled.budget_tokens: Field required")
            if budget < MIN_THINKING_BUDGET:
                raise InvalidRequest(
                    f"thinking.enabled.budget_tokens: Input should be greater than or equal to {MIN_THINKING_BUDGET}"
                )
            if budget >= max_tokens:
                raise InvalidRequest(
                    "`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our "
                    "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
                    "#max-tokens-and-context-window-size"
                )
        elif kind not in ("disabled", "adaptive", "between_tools"):
            raise InvalidRequest(
                "thinking: Input tag does not match any of the expected tags: 'enabled', 'disabled', 'adaptive'"
            )
    validate_count_tokens(body, secret)
