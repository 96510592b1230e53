"""Submitting work for a tenant: one task, or a convoy of tasks sharing one budget pool.

A convoy is a pool of ``total`` micro-dollars plus one session per task, each with its own pool
of ``per_task`` (default ``total // n``) and ``convoy_id`` set, so every model call of a task
reserves on both pools at once (``SessionRun.pools``): a task never exceeds its cap and the
convoy as a whole never exceeds its total, under any interleaving of the tasks' calls. The convoy
and all its sessions are written in one transaction: a convoy exists whole or not at all.
Everything is validated before anything is written (empty prompt, bad budget, unknown model),
and every task, alone or in a convoy, goes through the ``on_submit`` hooks (sanitizing,
redaction, and the user's own hooks) before it is stored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection

from agentic_executor.app import App
from agentic_executor.budget.ledger import dollars_to_micros, new_id
from agentic_executor.errors import BadInput
from agentic_executor.hooks import HookRegistry, Submission, default_hooks
from agentic_executor.providers import priced_model
from agentic_executor.store import queries

MAX_CONVOY_TASKS = 100
MAX_PROMPT_CHARS = 100_000


@dataclass(frozen=True)
class TaskSpec:
    prompt: str
    criteria: list[str] = field(default_factory=list)
    task_type: str = "task"
    model: str | None = None
    title: str | None = None


@dataclass(frozen=True)
class Convoy:
    id: str
    name: str
    pool_id: str
    total_micros: int
    per_task_micros: int
    task_ids: list[str]


def submit(
    app: App,
    spec: TaskSpec,
    budget: float | str,
    *,
    tenant: str = queries.DEFAULT_TENANT,
    hooks: HookRegistry | None = None,
) -> queries.SessionRow:
    """One queued session of ``tenant`` with its own pool (not yet enqueued)."""
    micros = _positive_micros(budget, "budget")
    prepared = _prepare(app, spec, "", micros, hooks or default_hooks())
    with app.db.transaction() as conn:
        session_id = _insert(app, conn, prepared, micros, convoy_id=None, tenant=tenant)
        return queries.get_session(conn, session_id)


def submit_convoy(
    app: App,
    name: str,
    tasks: list[TaskSpec],
    total_budget: float | str,
    *,
    per_task_budget: float | str | None = None,
    tenant: str = queries.DEFAULT_TENANT,
    hooks: HookRegistry | None = None,
) -> Convoy:
    """A convoy and its queued sessions, written in one transaction (not yet enqueued)."""
    if not name or not name.strip():
        raise BadInput("the convoy needs a name", details={"field": "name"})
    if not tasks:
        raise BadInput("a convoy needs at least one task in 'tasks'", details={"field": "tasks"})
    if len(tasks) > MAX_CONVOY_TASKS:
        raise BadInput(
            f"a convoy has at most {MAX_CONVOY_TASKS} tasks, got {len(tasks)}: split it", details={"field": "tasks"}
        )
    total = _positive_micros(total_budget, "budget")
    if per_task_budget is None:
        per_task = total // len(tasks)
        if per_task <= 0:
            raise BadInput(
                f"a budget of {total} micro-dollars cannot be split between {len(tasks)} tasks: raise it",
                details={"field": "budget"},
            )
    else:
        per_task = _positive_micros(per_task_budget, "perTaskBudget")
        if per_task > total:
            raise BadInput(
                "perTaskBudget cannot exceed the convoy's budget: lower it, or raise budget",
                details={"field": "perTaskBudget"},
            )
    registry = hooks or default_hooks()
    prepared = [_prepare(app, spec, f"tasks.{i}.", per_task, registry) for i, spec in enumerate(tasks)]
    convoy_id = new_id("convoy")
    with app.db.transaction() as conn:
        pool_id = app.ledger.create_pool("convoy", total, conn=conn)
        queries.insert_convoy(
            conn,
            id=convoy_id,
            name=name.strip(),
            pool_id=pool_id,
            per_task_budget_micros=per_task,
            status="queued",
            tenant=tenant,
        )
        ids = [_insert(app, conn, p, per_task, convoy_id=convoy_id, tenant=tenant) for p in prepared]
    return Convoy(convoy_id, name.strip(), pool_id, total, per_task, ids)


def _positive_micros(dollars: float | str, field_name: str) -> int:
    try:
        micros = dollars_to_micros(dollars)
    except BadInput as exc:
        raise BadInput(exc.message, details={"field": field_name}) from exc
    if micros <= 0:
        raise BadInput(f"{field_name} must be a positive dollar amount, got {dollars!r}", details={"field": field_name})
    return micros


def _prepare(app: App, spec: TaskSpec, where: str, micros: int, hooks: HookRegistry) -> Submission:
    """Validate one task and run it through the ``on_submit`` hooks; nothing is written."""
    field_name = f"{where}description" if where else "prompt"
    if not spec.prompt or not spec.prompt.strip():
        raise BadInput(f"{field_name} is empty: describe the task to run", details={"field": field_name})
    if len(spec.prompt) > MAX_PROMPT_CHARS:
        raise BadInput(f"{field_name} is longer than {MAX_PROMPT_CHARS} characters", details={"field": field_name})
    model = (spec.model or app.settings.default_model).strip()
    try:
        app.prices.resolve(priced_model(app, model))  # an unknown model is refused now, not at the first call
    except BadInput as exc:
        exc.details.setdefault("field", f"{where}model")  # the form field to show it beside
        raise
    criteria = [c.strip() for c in spec.criteria if c and c.strip()]
    submission = hooks.on_submit(
        Submission(spec.prompt, criteria, spec.task_type, model, micros, app.settings, title=spec.title)
    )
    if submission.model != model:  # a hook chose another model: it must be priced too
        app.prices.resolve(priced_model(app, submission.model))
    return submission


def _insert(app: App, conn: Connection, p: Submission, micros: int, *, convoy_id: str | None, tenant: str) -> str:
    session_id = new_id("agt")
    pool_id = app.ledger.create_pool("session", micros, conn=conn)
    queries.insert_session(
        conn,
        id=session_id,
        epic_id=new_id("epic"),
        convoy_id=convoy_id,
        type=p.task_type,
        title=p.title,
        prompt=p.prompt,
        acceptance_criteria=p.criteria,
        status="queued",
        model=p.model,
        pool_id=pool_id,
        budget_micros=micros,
        consumed_micros=0,
        tenant=tenant,
    )
    queries.add_event(
        conn, session_id, "session_created", {"budget_micros": micros, "model": p.model, "convoy_id": convoy_id}
    )
    queries.add_events(conn, session_id, p.events)
    return session_id
