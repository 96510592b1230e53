"""The hook interface: the seven points the engine calls, and the registry that calls every hook.

    on_submit            a task is submitted: rewrite ``prompt`` / ``criteria``; raise BadInput to refuse
    before_model_call    the request is about to be sent (look, do not touch: it is budgeted already)
    after_model_call     the reply arrived: set ``claim`` when its text claims completion
    before_tool          a tool call is about to run: set ``refusal`` to refuse it
    after_tool           a tool returned: rewrite ``content`` (what the model will read)
    on_completion_claim  the agent claims it is done: ``reject(action)`` or ``approve()``
    on_finish            the run stopped with ``status`` (paused included), after it is committed

A hook is any object with a ``name`` and some of these methods (``Hook`` lists them; a missing
one is skipped). Hooks run in ``order`` (default 0), then registration order; the built-in
sanitizers run last (order 1000) so whatever another hook adds is still neutralized. Every
context has ``record(event_type, data)``: those events are committed with the iteration (or the
submission). Invariant 2 lives in ``Claim``: it is approved only when at least one hook validated
it and no hook rejected it; a hook that raises counts as a rejection. The same fail-closed rule
holds elsewhere: a raising ``after_tool`` withholds the output, a raising ``before_tool`` refuses
the call.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from agentic_executor.config import Settings

if TYPE_CHECKING:
    from agentic_executor.providers.base import ModelRequest
    from agentic_executor.store.queries import SessionRow

log = logging.getLogger(__name__)

Event = tuple[str, dict[str, Any]]


@dataclass(frozen=True)
class SessionInfo:
    """What a hook may know of the running session. Read-only: hooks cannot change the budget."""

    id: str
    task_type: str
    criteria: tuple[str, ...]
    workspace: Path
    budget_micros: int
    consumed_micros: int
    settings: Settings

    @classmethod
    def of(cls, row: SessionRow, workspace: Path, settings: Settings) -> SessionInfo:
        return cls(
            row.id,
            row.type,
            tuple(row.acceptance_criteria),
            workspace,
            row.budget_micros,
            row.consumed_micros,
            settings,
        )


@dataclass
class HookContext:
    events: list[Event] = field(default_factory=list, kw_only=True)

    def record(self, event_type: str, data: dict[str, Any]) -> None:
        self.events.append((event_type, data))


@dataclass
class Submission(HookContext):
    prompt: str
    criteria: list[str]
    task_type: str
    model: str
    budget_micros: int
    """Informational: the budget is the submitter's, a hook cannot change it."""
    settings: Settings
    title: str | None = None


@dataclass
class ModelCall(HookContext):
    session: SessionInfo
    iteration: int
    request: ModelRequest


@dataclass
class ModelReply(HookContext):
    session: SessionInfo
    iteration: int
    content: list[dict[str, Any]]
    """The reply's blocks exactly as received (thinking signatures included): never modify them."""
    claim: str | None = None
    """Set when the reply's text claims completion (the claim's text); ``complete_task`` is seen by the loop."""


@dataclass
class ToolCall(HookContext):
    session: SessionInfo
    name: str
    args: dict[str, Any]
    refusal: str | None = None
    """Set to refuse the call: the model gets this message as an error result instead."""


@dataclass
class ToolResult(HookContext):
    session: SessionInfo
    name: str
    args: dict[str, Any]
    content: str
    is_error: bool


@dataclass
class Claim(HookContext):
    session: SessionInfo
    summary: str
    required_actions: list[str] = field(default_factory=list)
    checks: list[dict[str, Any]] = field(default_factory=list)
    for_reviewer: list[str] = field(default_factory=list)
    validated: bool = False

    def approve(self) -> None:
        """This hook checked the claim and found nothing missing (other hooks may still reject)."""
        self.validated = True

    def reject(self, *actions: str) -> None:
        self.validated = True
        self.required_actions.extend(actions)

    @property
    def approved(self) -> bool:
        return self.validated and not self.required_actions


@dataclass
class Finish(HookContext):
    session: SessionInfo
    status: str
    reason: str = ""


@runtime_checkable
class Hook(Protocol):
    """A hook: a ``name`` and any of the seven methods below (see the module doc)."""

    name: str

    def on_submit(self, ctx: Submission) -> None: ...
    def before_model_call(self, ctx: ModelCall) -> None: ...
    def after_model_call(self, ctx: ModelReply) -> None: ...
    def before_tool(self, ctx: ToolCall) -> None: ...
    def after_tool(self, ctx: ToolResult) -> None: ...
    def on_completion_claim(self, ctx: Claim) -> None: ...
    def on_finish(self, ctx: Finish) -> None: ...


POINTS = (
    "on_submit",
    "before_model_call",
    "after_model_call",
    "before_tool",
    "after_tool",
    "on_completion_claim",
    "on_finish",
)


class HookRegistry:
    """The hooks of one engine, called in order at each point (see the module doc)."""

    def __init__(self, hooks: Iterable[object] = ()) -> None:
        self._hooks: list[object] = []
        for hook in hooks:
            self.register(hook)

    def register(self, hook: object) -> None:
        name = getattr(hook, "name", None)
        if not isinstance(name, str) or not any(callable(getattr(hook, p, None)) for p in POINTS):
            raise TypeError(f"{hook!r} is not a hook: it needs a name and one of {', '.join(POINTS)}")
        if name in self.names:
            raise ValueError(f"a hook named {name!r} is registered already")
        self._hooks.append(hook)
        self._hooks.sort(key=lambda h: int(getattr(h, "order", 0)))  # stable: registration order within an order

    @property
    def names(self) -> list[str]:
        return [str(getattr(h, "name", "")) for h in self._hooks]

    def _each(self, point: str, ctx: HookContext) -> Iterable[tuple[str, Exception | None]]:
        """Call ``point`` on every hook that has it; yield (hook name, what it raised, if anything)."""
        for hook in list(self._hooks):
            method = getattr(hook, point, None)
            if not callable(method):
                continue
            name = str(getattr(hook, "name", hook))
            try:
                method(ctx)
            except Exception as exc:  # a plugin's bug must not open a hole: the caller fails closed
                log.exception("hook %s failed in %s", name, point)
                ctx.record("hook_failed", {"hook": name, "point": point, "error": f"{type(exc).__name__}: {exc}"})
                yield name, exc
            else:
                yield name, None

    def on_submit(self, ctx: Submission) -> Submission:
        for _name, error in self._each("on_submit", ctx):
            if error is not None:
                raise error
        return ctx

    def before_model_call(self, ctx: ModelCall) -> ModelCall:
        for _ in self._each("before_model_call", ctx):
            pass
        return ctx

    def after_model_call(self, ctx: ModelReply) -> ModelReply:
        for _ in self._each("after_model_call", ctx):
            pass
        return ctx

    def before_tool(self, ctx: ToolCall) -> ToolCall:
        for name, error in self._each("before_tool", ctx):
            if error is not None and ctx.refusal is None:
                ctx.refusal = f"{ctx.name}: refused (the {name} hook could not check the call)"
        return ctx

    def after_tool(self, ctx: ToolResult) -> ToolResult:
        for name, error in self._each("after_tool", ctx):
            if error is not None:
                ctx.content = f"[tool output withheld: the {name} hook could not check it]"
                ctx.is_error = True
                break
        return ctx

    def on_completion_claim(self, ctx: Claim) -> Claim:
        for name, error in self._each("on_completion_claim", ctx):
            if error is not None:
                ctx.reject(f"validation could not run ({name}: {type(error).__name__}); try again")
        if not ctx.validated:
            ctx.reject("no completion validator is installed: the claim cannot be checked")
        return ctx

    def on_finish(self, ctx: Finish) -> Finish:
        for _ in self._each("on_finish", ctx):
            pass
        return ctx
