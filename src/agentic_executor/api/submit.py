"""``POST /api/agentic/submit`` and ``POST /api/agentic/convoy``: queue work, in the seed's shapes."""

from __future__ import annotations

from fastapi import APIRouter

from agentic_executor.api.auth import Submitter
from agentic_executor.api.deps import AppDep
from agentic_executor.api.errors import documented
from agentic_executor.api.schemas import ConvoyRequest, ConvoySubmitResponse, SubmitRequest, SubmitResponse
from agentic_executor.budget.ledger import micros_to_dollars
from agentic_executor.engine.convoy import TaskSpec, submit, submit_convoy
from agentic_executor.runtime.control import enqueue

router = APIRouter(prefix="/api/agentic", tags=["submit"], responses=documented(401, 403, 413, 422, 503))


@router.post("/submit", status_code=202, response_model=SubmitResponse)
def submit_task(body: SubmitRequest, app: AppDep, principal: Submitter) -> SubmitResponse:
    """Queue one task under a hard budget; poll ``statusUrl`` or stream its events."""
    spec = TaskSpec(body.prompt, body.acceptanceCriteria, body.type, body.model, body.title)
    session = submit(app, spec, body.budget, tenant=principal.submit_tenant)
    enqueue(app, session.id)
    return SubmitResponse(
        taskId=session.id,
        epicId=session.epic_id,
        status="queued",
        budget=micros_to_dollars(session.budget_micros),
        statusUrl=f"/tasks/{session.id}",
    )


@router.post("/convoy", status_code=202, response_model=ConvoySubmitResponse)
def submit_convoy_of_tasks(body: ConvoyRequest, app: AppDep, principal: Submitter) -> ConvoySubmitResponse:
    """Queue tasks that run in parallel on one shared pool of ``budget``; each task is capped at
    ``perTaskBudget`` (default: budget ÷ number of tasks) and the convoy never exceeds ``budget``."""
    specs = [
        TaskSpec(
            t.description,
            t.acceptanceCriteria,
            t.type or body.type,
            t.model or body.model,
            t.title,
        )
        for t in body.tasks
    ]
    convoy = submit_convoy(
        app, body.name, specs, body.budget, per_task_budget=body.perTaskBudget, tenant=principal.submit_tenant
    )
    for task_id in convoy.task_ids:
        enqueue(app, task_id)
    return ConvoySubmitResponse(
        convoyId=convoy.id,
        tasks=convoy.task_ids,
        totalBudget=micros_to_dollars(convoy.total_micros),
        perTaskBudget=micros_to_dollars(convoy.per_task_micros),
        status="queued",
        statusUrl=f"/convoys/{convoy.id}",
    )
