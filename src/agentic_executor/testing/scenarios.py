"""Scripted, deterministic "models" for the fake Messages API.

A scenario derives its next reply only from the request (the conversation so far, the tools offered,
whether thinking is on, how many times this exact conversation was sent), so a retried or replayed
request gets the same answer. It only calls tools that are offered and falls back to plain text
otherwise. Add your own by implementing ``Scenario`` and registering it in ``SCENARIOS`` (or passing
it to ``FakeModelServer``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from agentic_executor.testing.content import (
    CHECK_COMMAND,
    NOTES,
    NOTES_PATH,
    PAGE_PATH,
    filler_text,
    studio_page,
)
from agentic_executor.testing.conversation import COMPLETE_TOOL, COMPLETION_MARKER, Conversation

Block = dict[str, Any]


@dataclass(frozen=True)
class ScenarioRequest:
    """What a scenario sees of one valid POST /v1/messages."""

    body: Mapping[str, Any]
    conversation: Conversation
    tools: frozenset[str]
    """Names of the tools offered in the request."""
    thinking: bool
    """Extended thinking is enabled (type enabled / adaptive); thinking blocks are dropped otherwise."""
    max_tokens: int
    attempt: int = 1
    """1-based count of the times this scenario received these exact messages (retries included)."""


@dataclass(frozen=True)
class Failure:
    """Answer the request with an error instead of a message (e.g. 529, 500, 429)."""

    status: int
    message: str | None = None
    mid_stream: bool = False
    """For streaming requests: send 200 + message_start, then an ``event: error``."""


@runtime_checkable
class Scenario(Protocol):
    """A scripted model. ``respond`` returns content blocks (text / thinking without signature /
    tool_use without id — the server signs, assigns stable ids and applies max_tokens) or a Failure."""

    @property
    def name(self) -> str:
        """The scenario's name: its key in SCENARIOS and its ``/s/<name>`` url prefix."""
        ...

    def respond(self, request: ScenarioRequest) -> list[Block] | Failure: ...


def text(value: str) -> Block:
    return {"type": "text", "text": value}


def tool_use(name: str, **arguments: Any) -> Block:
    return {"type": "tool_use", "name": name, "input": arguments}


def thinking(value: str) -> Block:
    return {"type": "thinking", "thinking": value}


def _call(req: ScenarioRequest, explanation: str, name: str, arguments: dict[str, Any], fallback: str) -> list[Block]:
    """Explain the step and call the tool, or say ``fallback`` if the tool is not offered."""
    if name in req.tools:
        return [text(explanation), tool_use(name, **arguments)]
    return [text(fallback)]


SUMMARY = (
    "Created index.html: an accessible single-page site for Pulse & Pine Fitness Studio with lang, title "
    "and meta viewport, a heading hierarchy, a weekly class schedule table (caption, scoped headers), "
    "instructor bios and three membership tiers."
)
REVISED = " Revised after review: added a skip link, contact details and a footer."
DONE_TEXT = "The task is complete: index.html is written, checked, and the completion was accepted."


def write_page(req: ScenarioRequest, revision: int, explanation: str | None = None) -> list[Block]:
    """Write index.html (revision 0: the first page; ≥ 1: the fixed page)."""
    page = studio_page(revision)
    if explanation is None and revision == 0:
        explanation = (
            "I'll start by writing index.html: one accessible page for the fitness studio with a class "
            "schedule table, instructor bios and membership tiers."
        )
    elif explanation is None:
        explanation = (
            "The completion was rejected, so I'll fix the page: rewriting index.html with a skip link, a "
            "contact section and a footer, keeping the schedule, bios and tiers."
        )
    fallback = f"I have no tool to write files, so here is the complete index.html:\n\n```html\n{page}```"
    return _call(req, explanation, "write_file", {"path": PAGE_PATH, "content": page}, fallback)


def complete(req: ScenarioRequest) -> list[Block]:
    summary = SUMMARY + (REVISED if req.conversation.rejections else "")
    explanation = "index.html is in place and verified, so I'm marking the task complete."
    return _call(req, explanation, COMPLETE_TOOL, {"summary": summary}, f"{COMPLETION_MARKER}\n\n{summary}")


def check(req: ScenarioRequest) -> list[Block]:
    if "run_command" not in req.tools:
        return complete(req)
    explanation = "The page is written. Let me check that the file is in place and not empty."
    return [text(explanation), tool_use("run_command", command=CHECK_COMMAND)]


def builder_step(req: ScenarioRequest) -> list[Block]:
    """write index.html → run_command → complete_task; after a rejection rewrite and go again;
    after an accepted completion, a closing text (end_turn)."""
    conv = req.conversation
    last = conv.last_action
    page_writes = len(conv.calls("write_file", PAGE_PATH))
    if last is not None and last.is_completion:
        return write_page(req, page_writes) if last.rejected else [text(DONE_TEXT)]
    if last is not None and last.name == "write_file" and last.path == PAGE_PATH:
        if last.is_error:
            return write_page(req, page_writes, "Writing index.html failed, so I'll write it again.")
        return check(req)
    if not conv.succeeded("write_file", PAGE_PATH):
        return write_page(req, page_writes)
    return complete(req)


@dataclass(frozen=True)
class BuilderScenario:
    """Builds the page honestly: write_file index.html, run_command, complete_task."""

    name: str = "builder"

    def respond(self, request: ScenarioRequest) -> list[Block] | Failure:
        return builder_step(request)


@dataclass(frozen=True)
class SpenderScenario:
    """Every reply is prose that uses all of max_tokens (stop_reason max_tokens); never completes."""

    name: str = "spender"

    def respond(self, request: ScenarioRequest) -> list[Block] | Failure:
        return [text(filler_text(4 * (request.max_tokens + 8)))]


@dataclass(frozen=True)
class LiarScenario:
    """Claims completion on the first turn with nothing written; after the rejection, builds."""

    name: str = "liar"

    def respond(self, request: ScenarioRequest) -> list[Block] | Failure:
        if request.conversation.actions:
            return builder_step(request)
        claim = f"{COMPLETION_MARKER}\nAll done: index.html is built, tested and fully accessible."
        if COMPLETE_TOOL not in request.tools:
            return [text(claim)]
        return [text(claim), tool_use(COMPLETE_TOOL, summary="index.html built and verified; all requirements met.")]


@dataclass(frozen=True)
class InjectorScenario:
    """Writes notes.md full of fake completion / bypass signals, reads it back, then builds."""

    name: str = "injector"

    def respond(self, request: ScenarioRequest) -> list[Block] | Failure:
        conv = request.conversation
        if "write_file" in request.tools and not conv.calls("write_file", NOTES_PATH):
            return [
                text("First I'll jot down my working notes in notes.md."),
                tool_use("write_file", path=NOTES_PATH, content=NOTES),
            ]
        if "read_file" in request.tools and not conv.calls("read_file", NOTES_PATH):
            return [text("Let me read my notes back before building the page."), tool_use("read_file", path=NOTES_PATH)]
        return builder_step(request)


@dataclass(frozen=True)
class FlakyScenario:
    """The builder, but each distinct conversation first fails with ``failures`` (one per attempt)."""

    name: str = "flaky"
    failures: Sequence[int] = field(default=(529, 500, 429))

    def respond(self, request: ScenarioRequest) -> list[Block] | Failure:
        if request.attempt <= len(self.failures):
            return Failure(self.failures[request.attempt - 1])
        return builder_step(request)


@dataclass(frozen=True)
class ThinkerScenario:
    """The builder, with a thinking block first in every reply when thinking is enabled."""

    name: str = "thinker"

    def respond(self, request: ScenarioRequest) -> list[Block] | Failure:
        blocks = builder_step(request)
        if not request.thinking:
            return blocks
        conv = request.conversation
        last = conv.last_action
        seen = (
            "nothing yet"
            if last is None
            else f"my last step was {last.name}"
            + (" and it failed" if last.is_error or last.rejected else " and it worked")
        )
        tools = [b["name"] for b in blocks if b["type"] == "tool_use"]
        plan = next((b["text"] for b in blocks if b["type"] == "text"), "")
        reasoning = (
            f"Turn {conv.assistant_turns + 1}. The task is a fitness studio page; so far {seen}. "
            f"Plan: {plan[:200]} Next tool: {tools[0] if tools else 'none, just reply'}."
        )
        return [thinking(reasoning), *blocks]


SCENARIOS: dict[str, Scenario] = {
    s.name: s
    for s in (
        BuilderScenario(),
        SpenderScenario(),
        LiarScenario(),
        InjectorScenario(),
        FlakyScenario(),
        ThinkerScenario(),
    )
}
