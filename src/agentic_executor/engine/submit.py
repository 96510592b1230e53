"""Submitting a task: validate, run the ``on_submit`` hooks (which sanitize the prompt), open a
budget pool, write the queued session.

Bad input is refused before anything is written: an empty prompt, a budget that is not a
positive dollar amount, an unknown model.
"""

from __future__ import annotations

from agentic_executor.app import App
from agentic_executor.budget.ledger import dollars_to_micros, new_id
from agentic_executor.errors import BadInput
from agentic_executor.hooks import HookRegistry, Submission, default_hooks
from agentic_executor.providers import priced_model
from agentic_executor.store import queries

MAX_PROMPT_CHARS = 100_000


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
    criteria = [c.strip() for c in criteria or [] if c and c.strip()]
    model = (model or app.settings.default_model).strip()
    if not prompt or not prompt.strip():
        raise BadInput("the prompt is empty: describe the task to run", details={"field": "prompt"})
    if len(prompt) > MAX_PROMPT_CHARS:
        raise BadInput(f"the prompt is longer than {MAX_PROMPT_CHARS} characters", details={"field": "prompt"})
    micros = dollars_to_micros(budget)
    if micros <= 0:
        raise BadInput(f"the budget must be a positive dollar amount, got {budget!r}", details={"field": "budget"})
    app.prices.resolve(priced_model(app, model))  # an unknown model is refused now, not at the first call
    submission = (hooks or default_hooks()).on_submit(
        Submission(prompt, criteria, task_type, model, micros, app.settings, title=title)
    )
    session_id = new_id("agt")
    with app.db.transaction() as conn:
        pool_id = app.ledger.create_pool("session", micros, conn=conn)
        queries.insert_session(
            conn,
            id=session_id,
            epic_id=new_id("epic"),
            type=task_type,
            title=submission.title,
            prompt=submission.prompt,
            acceptance_criteria=submission.criteria,
            status="queued",
            model=model,
            pool_id=pool_id,
            budget_micros=micros,
            consumed_micros=0,
        )
        queries.add_event(conn, session_id, "session_created", {"budget_micros": micros, "model": model})
        queries.add_events(conn, session_id, submission.events)
        return queries.get_session(conn, session_id)
