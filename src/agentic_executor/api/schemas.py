"""The API's JSON shapes: the seed's field names and casing (camelCase), as pydantic models.

Requests are validated here (422 names the field); responses are documented here so that the
OpenAPI spec at ``/openapi.json`` is the contract that schemathesis checks the server against.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

Status = Literal[
    "queued", "running", "paused", "awaiting_review", "approved", "budget_exhausted", "failed", "cancelled"
]
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
TYPE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
MAX_DOLLARS = 100_000.0


def _storable(value: str) -> str:
    """Refuse what no database can store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


def _text(max_length: int, min_length: int = 0) -> Any:
    return Field(min_length=min_length, max_length=max_length)


def _dollars(description: str) -> Any:
    # one micro-dollar is the smallest amount the ledger keeps; strict: true is not a dollar amount
    return Field(ge=0.000001, le=MAX_DOLLARS, allow_inf_nan=False, strict=True, description=description)


Prompt = Annotated[str, _text(100_000, 1), AfterValidator(_storable)]
Title = Annotated[str, _text(500, 1), AfterValidator(_storable)]
Feedback = Annotated[str, _text(20_000, 1), AfterValidator(_storable)]
Criterion = Annotated[str, _text(2000, 1), AfterValidator(_storable)]
Criteria = Annotated[list[Criterion], Field(max_length=50)]
TaskType = Annotated[str, Field(pattern=TYPE_PATTERN, description="e.g. template-generation")]
ModelName = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,119}$",
        description="claude-… (Anthropic), openai:NAME, or replay:SESSION_ID; default: the server's",
    ),
]
TaskBudget = Annotated[float, _dollars("Hard budget in US dollars; never exceeded.")]
ConvoyBudget = Annotated[float, _dollars("The convoy's total budget in US dollars, shared by its tasks.")]
PerTaskBudget = Annotated[float, _dollars("Each task's cap; default: budget ÷ number of tasks.")]
TopUp = Annotated[float, _dollars("Dollars to add to the session's budget.")]


# ---- requests ------------------------------------------------------------------------------


class SubmitRequest(BaseModel):
    type: TaskType = "task"
    prompt: Prompt
    budget: TaskBudget
    acceptanceCriteria: Criteria = []
    model: ModelName | None = None
    title: Title | None = None


class ConvoyTask(BaseModel):
    title: Title
    description: Prompt
    acceptanceCriteria: Criteria = []
    type: TaskType | None = None
    model: ModelName | None = None


class ConvoyRequest(BaseModel):
    name: Title
    budget: ConvoyBudget
    tasks: Annotated[list[ConvoyTask], Field(min_length=1, max_length=100)]
    perTaskBudget: PerTaskBudget | None = None
    type: TaskType = "task"
    model: ModelName | None = None


class ResumeRequest(BaseModel):
    feedback: Feedback | None = None


class BudgetRequest(BaseModel):
    add: TopUp


class RejectRequest(BaseModel):
    feedback: Feedback


# ---- responses -----------------------------------------------------------------------------


class SubmitResponse(BaseModel):
    taskId: str
    epicId: str
    status: Status
    budget: float
    statusUrl: str


class ConvoySubmitResponse(BaseModel):
    convoyId: str
    tasks: list[str]
    totalBudget: float
    perTaskBudget: float
    status: Literal["queued"]
    statusUrl: str


class Budget(BaseModel):
    allocated: float
    consumed: float
    remaining: float
    percentUsed: float
    exhausted: bool


class SessionInfo(BaseModel):
    id: str
    epicId: str
    status: Status
    iteration: int
    type: str
    model: str
    workspace: str | None
    summary: str | None
    title: str | None
    convoyId: str | None
    pauseRequested: bool
    cancelRequested: bool
    createdAt: str
    startedAt: str | None
    finishedAt: str | None


class Iteration(BaseModel):
    iteration: int
    cost: float
    inputTokens: int
    outputTokens: int
    cacheReadTokens: int
    cacheWriteTokens: int
    stopReason: str | None
    durationMs: int
    createdAt: str


class Event(BaseModel):
    id: int
    type: str
    data: dict[str, Any]
    createdAt: str


class SessionStatus(BaseModel):
    session: SessionInfo
    budget: Budget
    preview: str | None
    iterations: list[Iteration]
    events: list[Event]


class SessionSummary(BaseModel):
    id: str
    epicId: str
    convoyId: str | None
    status: Status
    iteration: int
    type: str
    title: str | None
    model: str
    budget: Budget
    preview: str | None
    createdAt: str
    finishedAt: str | None
    statusUrl: str


class SessionList(BaseModel):
    sessions: list[SessionSummary]
    total: int
    limit: int
    offset: int
    nextOffset: int | None


class ConvoyStatus(BaseModel):
    convoyId: str
    name: str
    status: Literal["queued", "running", "paused", "completed"]
    totalBudget: float
    perTaskBudget: float
    budget: Budget
    counts: dict[str, int]
    tasks: list[SessionSummary]
    createdAt: str
    finishedAt: str | None
    statusUrl: str


class ReviewItem(SessionSummary):
    summary: str | None
    acceptanceCriteria: list[str]
    cost: float
    gates: list[dict[str, Any]]
    checks: list[dict[str, Any]]
    forReviewer: list[str]


class ReviewQueue(BaseModel):
    sessions: list[ReviewItem]
    total: int


class Export(BaseModel):
    bundle: str
    archive: str


class Approval(BaseModel):
    session: SessionStatus
    export: Export


class DailySpend(BaseModel):
    date: str
    totalCost: float
    sessions: int


class DailySpendReport(BaseModel):
    days: list[DailySpend]


class ExhaustionRate(BaseModel):
    total: int
    exhausted: int
    avgUtilization: float | None


class ExpensiveTask(BaseModel):
    issueId: str
    costConsumed: float
    iteration: int
    status: str


class TopExpensive(BaseModel):
    sessions: list[ExpensiveTask]


class WhoAmI(BaseModel):
    name: str
    tenant: str | None
    scopes: list[str]
    authRequired: bool
