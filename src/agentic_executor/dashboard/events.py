"""One line of the session timeline per event: what happened, in words a reviewer reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agentic_executor.dashboard.charts import dollars

TONES = {
    "budget_warning": "warn",
    "completion_rejected": "bad",
    "session_failed": "bad",
    "prompt_injection_detected": "warn",
    "review_rejected": "warn",
    "review_rejection_not_queued": "bad",
    "completion_approved": "good",
    "review_approved": "good",
}
STATUS_TONES = {"failed": "bad", "budget_exhausted": "bad", "cancelled": "bad", "awaiting_review": "good"}


@dataclass(frozen=True)
class Line:
    id: int
    type: str
    title: str
    detail: str
    tone: str  # "", "good", "warn", "bad": a class and a word, never colour alone
    at: str


def _money(micros: Any) -> str:
    try:
        return dollars(int(micros) / 1_000_000)
    except (TypeError, ValueError):
        return "?"


def describe(event: dict[str, Any]) -> Line:
    kind, data = str(event["type"]), event.get("data") or {}
    title, detail = kind.replace("_", " ").capitalize(), ""
    tone = TONES.get(kind, "")
    if kind == "iteration_completed":
        title = f"Iteration {data.get('iteration')} done"
        actions = ", ".join(data.get("actions") or []) or str(data.get("stop_reason") or "")
        detail = f"{_money(data.get('cost_micros'))}" + (f" · {actions}" if actions else "")
    elif kind == "status_changed":
        status = str(data.get("status", "?"))
        title, tone = f"Status: {status.replace('_', ' ')}", STATUS_TONES.get(status, "")
        detail = str(data.get("reason") or "")
    elif kind == "tool_call":
        title = f"Tool: {data.get('tool')}"
        detail = "error" if data.get("is_error") else ""
        tone = "warn" if data.get("is_error") else ""
    elif kind == "budget_warning":
        title = f"Budget warning: {data.get('percent_used')}% used"
        detail = f"{_money(data.get('remaining_micros'))} left"
    elif kind == "gate_result":
        passed = bool(data.get("passed"))
        score = data.get("score")
        title = f"Gate {data.get('gate')}: {'passed' if passed else 'failed'}"
        parts = [f"score {score:g}" if isinstance(score, int | float) else ""]
        parts.append(f"{data.get('findings_total', len(data.get('findings') or []))} findings")
        if data.get("unavailable"):
            parts.append(f"unavailable: {data['unavailable']}")
        detail, tone = " · ".join(p for p in parts if p), "good" if passed else "bad"
    elif kind == "completion_claimed":
        title, detail = "Agent claims it is done", str(data.get("summary") or "")[:300]
    elif kind == "completion_rejected":
        title = f"Completion rejected ({data.get('rejection')})"
        detail = "; ".join(str(a) for a in (data.get("required_actions") or []))[:500]
    elif kind == "completion_approved":
        title = "Checks passed: awaiting review"
    elif kind == "review_rejected":
        title, detail = "Reviewer rejected", str(data.get("feedback") or "")[:500]
    elif kind == "checkpoint":
        title = f"Checkpoint at iteration {data.get('iteration', '?')}"
    elif kind == "prompt_injection_detected":
        removed = data.get("removed") or []
        detail = f"{len(removed)} span(s) neutralized in {data.get('source', 'input')}"
    elif kind == "session_failed":
        detail = str(data.get("reason") or "")
    elif kind == "budget_added":
        title = f"Budget added: {_money(data.get('added_micros'))}"
        detail = f"now {_money(data.get('allocated_micros'))} in all"
    elif kind == "model_call_failed":
        title = f"Model call failed (attempt {data.get('attempt')}), retried"
        tone = "warn"
        detail = f"{_money(data.get('charged_micros'))} charged · {str(data.get('error') or '')[:300]}"
    elif kind == "workspace_restored":
        detail = (
            f"from checkpoint {data.get('checkpoint_iteration')}, {data.get('tool_calls_replayed')} tool calls redone"
        )
    return Line(int(event["id"]), kind, title, detail, tone, str(event.get("createdAt", ""))[:19].replace("T", " "))
