"""Reading a request's conversation the way a scripted model needs it: the assistant's past moves
(tool calls and completion claims), their results, and whether a completion was rejected."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentic_executor.testing.tokens import content_blocks

COMPLETION_MARKER = "<completion>DONE</completion>"
REJECTION_MARKER = "COMPLETION REJECTED"
COMPLETE_TOOL = "complete_task"


def result_text(content: Any) -> str:
    """Text of a tool_result's ``content`` (a string, or the text of its text blocks)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


@dataclass(frozen=True)
class Action:
    """One move of the assistant: a tool call, or a completion claimed in plain text."""

    name: str
    """Tool name, or ``"claim"`` for a text-only completion claim."""
    input: Mapping[str, Any]
    turn: int
    """Index of the assistant turn (0-based) that made the move."""
    result: str | None = None
    """Text of the tool_result that answered it (None if unanswered or a claim)."""
    is_error: bool = False
    rejected: bool = False
    """For completion moves: a rejection came back (is_error result or COMPLETION REJECTED)."""

    @property
    def is_completion(self) -> bool:
        return self.name in (COMPLETE_TOOL, "claim")

    @property
    def path(self) -> str | None:
        value = self.input.get("path")
        return value if isinstance(value, str) else None


class Conversation:
    """The assistant's history as seen in one request's ``messages``."""

    def __init__(self, messages: Sequence[Any]) -> None:
        self.messages = [m for m in messages if isinstance(m, dict)]
        self.assistant_turns = 0
        self.actions: list[Action] = []
        pending: list[tuple[str | None, int]] = []  # (tool_use id, index in actions) of the last turn
        for message in self.messages:
            blocks = [b for b in content_blocks(message.get("content")) if isinstance(b, dict)]
            if message.get("role") == "assistant":
                pending = []
                turn = self.assistant_turns
                self.assistant_turns += 1
                calls = [b for b in blocks if b.get("type") == "tool_use"]
                texts = [str(b.get("text", "")) for b in blocks if b.get("type") == "text"]
                for call in calls:
                    pending.append((call.get("id"), len(self.actions)))
                    self.actions.append(Action(str(call.get("name")), dict(call.get("input") or {}), turn))
                completes = any(call.get("name") == COMPLETE_TOOL for call in calls)
                if any(COMPLETION_MARKER in t for t in texts) and not completes:
                    pending.append((None, len(self.actions)))
                    self.actions.append(Action("claim", {}, turn))
            else:
                self._answer(pending, blocks)
        self.last_user_text = ""
        if self.messages and self.messages[-1].get("role") == "user":
            self.last_user_text = self._user_text(content_blocks(self.messages[-1].get("content")))

    @staticmethod
    def _user_text(blocks: Sequence[Any]) -> str:
        parts = []
        for b in blocks:
            if isinstance(b, dict) and b.get("type") == "text":
                parts.append(str(b.get("text", "")))
            elif isinstance(b, dict) and b.get("type") == "tool_result":
                parts.append(result_text(b.get("content")))
        return "\n".join(parts)

    def _answer(self, pending: list[tuple[str | None, int]], blocks: list[dict[str, Any]]) -> None:
        """Attach a user turn's tool results / rejection to the previous assistant turn's actions."""
        results = {b.get("tool_use_id"): b for b in blocks if b.get("type") == "tool_result"}
        rejection = REJECTION_MARKER.lower() in self._user_text(blocks).lower()
        for tool_id, index in pending:
            action = self.actions[index]
            result = results.get(tool_id) if tool_id is not None else None
            text, is_error = action.result, action.is_error
            if result is not None:
                text, is_error = result_text(result.get("content")), bool(result.get("is_error"))
            rejected = action.rejected or (action.is_completion and (rejection or is_error))
            self.actions[index] = Action(action.name, action.input, action.turn, text, is_error, rejected)

    @property
    def last_action(self) -> Action | None:
        return self.actions[-1] if self.actions else None

    def calls(self, name: str, path: str | None = None) -> list[Action]:
        """Past calls of a tool (optionally with a given ``path`` argument)."""
        return [a for a in self.actions if a.name == name and (path is None or a.path == path)]

    def succeeded(self, name: str, path: str | None = None) -> bool:
        """Whether a call of ``name`` got a non-error tool_result."""
        return any(a.result is not None and not a.is_error for a in self.calls(name, path))

    @property
    def rejections(self) -> int:
        return sum(1 for a in self.actions if a.is_completion and a.rejected)
