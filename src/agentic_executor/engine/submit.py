"""Submitting one task from Python or the CLI: ``engine.convoy.submit`` with keyword arguments.

Validation, the ``on_submit`` hooks (which sanitize the prompt) and the writes are those of
``engine.convoy``, the one place where tasks are made, alone or in a convoy.
"""

from __future__ import annotations

from agentic_executor.app import App
from agentic_executor.engine.convoy import MAX_PROMPT_CHARS, TaskSpec, submit
from agentic_executor.hooks import HookRegistry
from agentic_executor.store import queries

__all__ = ["MAX_PROMPT_CHARS", "submit_task"]


def submit_task(
    app: App,
    prompt: str,
    budget: float | str,
    *,
    criteria: list[str] | None = None,
    task_type: str = "task",
    model: str | None = None,
    title: str | None = None,
    hooks: HookRegistry | None = None,
) -> queries.SessionRow:
    """A queued session of the default tenant (not yet enqueued); ``BadInput`` before any write."""
    spec = TaskSpec(prompt, criteria or [], task_type, model, title)
    return submit(app, spec, budget, hooks=hooks)
