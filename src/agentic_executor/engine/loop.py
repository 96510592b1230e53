"""The agent loop: one iteration at a time, each committed whole before the next begins.

    run() → iterate(): flags → guarded model call → act (tools, completion claim) → commit

Policies live elsewhere and are only called from here: the budget guard (``budget.guard``),
the hook points (``hooks``: sanitizing, completion claims and their validation, user hooks),
tools (``engine.tools``), texts (``engine.prompts``). A stop is a status: awaiting_review ·
budget_exhausted · failed · paused · cancelled.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError

from agentic_executor.app import App
from agentic_executor.budget.guard import CallLimits, GuardedCall, guarded_call
from agentic_executor.engine import checkpoints, prompts
from agentic_executor.engine.tools import TOOL_SPECS, ToolOutcome, execute_tool
from agentic_executor.engine.workspace import reopen_workspace
from agentic_executor.errors import BudgetExhausted, ProviderError
from agentic_executor.hooks import (
    Claim,
    Finish,
    HookRegistry,
    ModelCall,
    ModelReply,
    SessionInfo,
    ToolCall,
    ToolResult,
    default_hooks,
)
from agentic_executor.providers import priced_model
from agentic_executor.providers.base import ModelRequest, Provider
from agentic_executor.sandbox.runner import Limits
from agentic_executor.store import queries
from agentic_executor.store.tables import convoys, sessions

WARNING_AT = 0.8


class LostOwnership(Exception):
    """Another run committed this session's next iteration: this run must stop (invariant 4)."""


@dataclass
class Progress:
    session_id: str
    iteration: int
    status: str
    committed_micros: int  # consumed + reserved: what users see as spent
    allocated_micros: int
    last_action: str


@dataclass
class Turn:
    """What one model response led to: the next user turn, its events, and maybe a stop."""

    user_blocks: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    status: str | None = None
    rejections: int = 0
    summary: str | None = None
    actions: list[str] = field(default_factory=list)


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SessionRun:
    def __init__(
        self,
        app: App,
        session_id: str,
        provider: Provider,
        *,
        owner: str | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        interrupt: threading.Event | None = None,
        hooks: HookRegistry | None = None,
    ) -> None:
        self.app, self.provider, self.owner = app, provider, owner or default_owner()
        self.hooks = hooks or default_hooks()
        self.on_progress = on_progress or (lambda _p: None)
        self.interrupt = interrupt or threading.Event()
        with app.db.transaction() as conn:
            self.session = queries.get_session(conn, session_id)
            convoy_pool = (
                conn.execute(convoys.select().where(convoys.c.id == self.session.convoy_id)).one().pool_id
                if self.session.convoy_id
                else None
            )
        self.pools = [self.session.pool_id] + ([convoy_pool] if convoy_pool else [])
        self.pricing = app.prices.resolve(priced_model(app, self.session.model))
        s = app.settings
        self.limits = CallLimits(
            max_tokens=s.max_tokens,
            thinking_budget=s.thinking_budget_tokens or None,
            min_useful_tokens=s.min_useful_max_tokens,
            margin=s.token_count_margin,
            attempts=s.retry_attempts,
            base_delay=s.retry_base_delay,
        )
        self.tool_limits = Limits(wall_time_s=s.command_timeout_s)
        self.workspace = s.home / "workspaces" / session_id
        self.history: list[dict[str, Any]] = []

    # ---- the loop ----------------------------------------------------------------------
    def run(self) -> str:
        self._start()
        while True:
            status = self.iterate()
            if status is not None:
                return status

    def iterate(self) -> str | None:
        """One iteration; returns the stop status, or None to go on."""
        available = self._refresh()
        if self.session.cancel_requested:
            return self._stop("cancelled", "cancel requested")
        if self.interrupt.is_set() or self.session.pause_requested:
            return self._stop("paused", "pause requested")
        messages = self.history
        request = ModelRequest(
            model=self._native_model(), system=prompts.SYSTEM_PROMPT, messages=messages, tools=TOOL_SPECS
        )
        self.hooks.before_model_call(ModelCall(self._info(), self.session.iteration + 1, request))
        started = time.perf_counter()
        try:
            call = guarded_call(
                self.app.ledger,
                self.pools,
                self.pricing,
                self.provider,
                request,
                self.limits,
                session_id=self.session.id,
                iteration=self.session.iteration + 1,
                owner=self.owner,
                available_hint=available,
            )
        except BudgetExhausted as exc:
            return self._stop("budget_exhausted", exc.message)
        except ProviderError as exc:
            return self._stop("failed", exc.message, details=exc.details)
        turn = self._act(call)
        self._commit(call, turn, messages, int((time.perf_counter() - started) * 1000))
        return turn.status

    # ---- acting on a response ----------------------------------------------------------
    def _act(self, call: GuardedCall) -> Turn:
        turn = Turn(rejections=self.session.rejections)
        info = self._info()
        reply = self.hooks.after_model_call(ModelReply(info, self.session.iteration + 1, call.response.content))
        turn.events += reply.events
        claim, claim_tool_id = reply.claim, None
        for block in call.response.content:
            if block.get("type") != "tool_use":
                continue
            name, args = block.get("name", ""), block.get("input") or {}
            turn.actions.append(name)
            if name == "complete_task":
                claim, claim_tool_id = str(args.get("summary", "")), block["id"]
                continue
            check = self.hooks.before_tool(ToolCall(info, name, args))
            outcome = (
                ToolOutcome(check.refusal, is_error=True)
                if check.refusal is not None
                else execute_tool(self.workspace, name, args, limits=self.tool_limits)
            )
            result = self.hooks.after_tool(ToolResult(info, name, args, outcome.content, outcome.is_error))
            turn.events += [*check.events, *result.events, ("tool_call", {"tool": name, "is_error": result.is_error})]
            turn.user_blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": block["id"],
                    "content": result.content,
                    **({"is_error": True} if result.is_error else {}),
                }
            )
        if claim is not None:
            self._validate(claim, claim_tool_id, turn)
        elif not turn.user_blocks:
            turn.user_blocks.append({"type": "text", "text": prompts.CONTINUE})
        return turn

    def _validate(self, summary: str, tool_id: str | None, turn: Turn) -> None:
        turn.events.append(("completion_claimed", {"summary": summary[:2000]}))
        verdict = self.hooks.on_completion_claim(Claim(self._info(), summary))
        turn.events += verdict.events
        if verdict.approved:
            text, turn.status, turn.summary = prompts.APPROVED, "awaiting_review", summary
            turn.events.append(
                ("completion_approved", {"checks": verdict.checks, "for_reviewer": verdict.for_reviewer})
            )
        else:
            turn.rejections += 1
            limit = self.app.settings.max_rejections
            text = prompts.rejection(verdict.required_actions, turn.rejections, limit)
            turn.events.append(
                (
                    "completion_rejected",
                    {
                        "required_actions": verdict.required_actions,
                        "checks": verdict.checks,
                        "rejection": turn.rejections,
                    },
                )
            )
            if turn.rejections >= limit:
                turn.status = "failed"
                turn.events.append(
                    (
                        "session_failed",
                        {"reason": "completion rejected too many times", "required_actions": verdict.required_actions},
                    )
                )
        if tool_id is not None:
            turn.user_blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": tool_id,
                    "content": text,
                    **({} if verdict.approved else {"is_error": True}),
                }
            )
        else:
            turn.user_blocks.append({"type": "text", "text": text})

    # ---- committing ----------------------------------------------------------------------
    def _commit(self, call: GuardedCall, turn: Turn, messages: list[dict[str, Any]], duration_ms: int) -> None:
        s, ledger, iteration = self.session, self.app.ledger, self.session.iteration + 1
        usage = call.response.usage
        every = self.app.settings.checkpoint_every
        snap = checkpoints.snapshot(self.workspace, iteration) if every and iteration % every == 0 else None
        try:
            # Not fsynced unless final: the next reservation's fsync makes this commit durable before
            # the next model call is made (the WAL is written in order); a crash before that leaves
            # this call's reservation open, to be charged at its worst case.
            with self.app.db.transaction(durable=turn.status is not None) as conn:
                charged = ledger.settle(call.reservation, call.actual_micros, conn=conn, mirror_session=False)
                warned = s.warning_sent
                pool = None if warned else ledger.pool(s.pool_id, conn=conn)  # only the warning needs it
                if pool is not None and pool.committed >= WARNING_AT * pool.allocated:
                    warned = True
                    percent = 100 * pool.committed / pool.allocated
                    average = pool.consumed / iteration
                    estimate = int(pool.available // average) if average else 0
                    turn.user_blocks.append(
                        {"type": "text", "text": prompts.budget_warning(percent, pool.available / 1_000_000, estimate)}
                    )
                    turn.events.append(
                        ("budget_warning", {"percent_used": round(percent, 1), "remaining_micros": pool.available})
                    )
                seq = len(messages)  # the whole conversation is in memory since _start
                if snap is not None:
                    checkpoints.record(conn, s.id, iteration, seq + 2, snap)
                    turn.events.append(
                        (
                            "checkpoint",
                            {
                                "iteration": iteration,
                                "commit": snap.sha,
                                "message_count": seq + 2,
                                "bundle_bytes": len(snap.bundle),
                            },
                        )
                    )
                new_messages = [
                    {"role": "assistant", "content": call.response.content},
                    {"role": "user", "content": turn.user_blocks},
                ]
                queries.append_messages(conn, s.id, seq, new_messages, iteration)
                queries.insert_iteration(
                    conn,
                    session_id=s.id,
                    iteration=iteration,
                    cost_micros=charged,
                    input_tokens=usage.input_tokens,
                    output_tokens=usage.output_tokens,
                    cache_read_tokens=usage.cache_read_tokens,
                    cache_write_tokens=usage.cache_write_tokens,
                    model=call.response.model,
                    stop_reason=call.response.stop_reason,
                    attempts=call.attempts,
                    duration_ms=duration_ms,
                )
                for failure in call.failures:
                    turn.events.append(("model_call_failed", dict(failure.__dict__)))
                turn.events.append(
                    (
                        "iteration_completed",
                        {
                            "iteration": iteration,
                            "cost_micros": charged,
                            "actions": turn.actions,
                            "stop_reason": call.response.stop_reason,
                        },
                    )
                )
                if turn.status:
                    turn.events.append(("status_changed", {"status": turn.status}))
                queries.add_events(conn, s.id, turn.events)
                changes: dict[str, Any] = {
                    "iteration": iteration,
                    "warning_sent": warned,
                    "rejections": turn.rejections,
                    "status": turn.status or "running",
                }
                if turn.summary is not None:
                    changes["summary"] = turn.summary
                if turn.status == "awaiting_review" and (self.workspace / "index.html").is_file():
                    changes["preview_url"] = (self.workspace / "index.html").as_uri()
                if turn.status:
                    changes["finished_at"] = queries.utcnow()
                mirror = {"consumed_micros": sessions.c.consumed_micros + charged}  # the ledger's figure, mirrored
                if not queries.advance_session(conn, s.id, s.iteration, **changes, **mirror):
                    raise LostOwnership(f"session {s.id} was advanced by another run")
                self.session = dataclasses.replace(s, consumed_micros=s.consumed_micros + charged, **changes)
        except IntegrityError as exc:  # the iteration row exists: another run committed it
            raise LostOwnership(f"session {s.id} iteration {iteration} was committed by another run") from exc
        self.history = [*messages, *new_messages]
        if turn.status:
            self._finished(turn.status, "completion validation")
        self.on_progress(
            Progress(
                s.id,
                iteration,
                self.session.status,
                self.session.consumed_micros,  # the own pool's consumed; nothing is reserved between calls
                self.session.budget_micros,
                ", ".join(turn.actions) or (call.response.stop_reason or ""),
            )
        )

    # ---- plumbing ----------------------------------------------------------------------
    def _start(self) -> None:
        recovered = self.app.ledger.recover_abandoned(session_id=self.session.id)
        crashed = self.session.status == "running"  # the previous run died without stopping
        with self.app.db.transaction() as conn:
            if recovered:
                queries.add_event(conn, self.session.id, "reservations_recovered", {"reservations": recovered})
            has_repo = (self.workspace / ".git").is_dir()
            if (crashed or not has_repo) and (has_repo or self.session.iteration > 0):
                restored = checkpoints.restore(conn, self.session.id, self.workspace, self.tool_limits)
                queries.add_event(conn, self.session.id, "workspace_restored", restored)
            else:  # a new session, or a run after a clean stop (a killed start may have left it half-made)
                reopen_workspace(self.workspace.parent, self.session.id)
            if queries.next_seq(conn, self.session.id) == 0:
                text = prompts.task_message(self.session.prompt, self.session.acceptance_criteria, self.session.title)
                queries.append_message(conn, self.session.id, 0, {"role": "user", "content": text}, 0)
            self.history = queries.load_messages(conn, self.session.id)
            changes: dict[str, Any] = {
                "status": "running",
                "workspace": str(self.workspace),
                "finished_at": None,
            }
            if self.session.started_at is None:
                changes["started_at"] = queries.utcnow()
            queries.update_session(conn, self.session.id, **changes)
            queries.add_event(conn, self.session.id, "status_changed", {"status": "running"})
            self.session = queries.get_session(conn, self.session.id)

    def _stop(self, status: str, reason: str, details: dict[str, Any] | None = None) -> str:
        with self.app.db.transaction() as conn:
            changes: dict[str, Any] = {"status": status}
            if status != "paused":
                changes["finished_at"] = queries.utcnow()
            queries.update_session(conn, self.session.id, **changes)
            queries.add_event(
                conn, self.session.id, "status_changed", {"status": status, "reason": reason, **(details or {})}
            )
            self.session = queries.get_session(conn, self.session.id)
            pool = self.app.ledger.pool(self.session.pool_id, conn=conn)
        self._finished(status, reason)
        self.on_progress(
            Progress(self.session.id, self.session.iteration, status, pool.committed, pool.allocated, reason)
        )
        return status

    def _finished(self, status: str, reason: str) -> None:
        finish = self.hooks.on_finish(Finish(self._info(), status, reason))
        if finish.events:
            with self.app.db.transaction() as conn:
                queries.add_events(conn, self.session.id, finish.events)

    def _info(self) -> SessionInfo:
        return SessionInfo.of(self.session, self.workspace, self.app.settings)

    def _refresh(self) -> int:
        """Re-read the session (pause / cancel flags) and what its pools have left, in one read."""
        with self.app.db.read() as conn:
            self.session = queries.get_session(conn, self.session.id)
            return self.app.ledger.available(self.pools, conn=conn)

    def _native_model(self) -> str:
        return self.session.model.partition(":")[2] if ":" in self.session.model else self.session.model


def fail_session(app: App | None, session_id: str, reason: str) -> str:
    """Stop a session as ``failed`` from outside its loop (its run crashed); it can be resumed."""
    if app is None:
        raise RuntimeError(reason)
    with app.db.transaction() as conn:
        queries.update_session(conn, session_id, status="failed", finished_at=queries.utcnow())
        queries.add_event(conn, session_id, "status_changed", {"status": "failed", "reason": reason})
    return "failed"


def run_session(app: App, session_id: str, provider: Provider, **kwargs: Any) -> str:
    return SessionRun(app, session_id, provider, **kwargs).run()
