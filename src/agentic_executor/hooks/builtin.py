"""The built-in hooks: what keeps invariant 2 (and invariant 5's "no secret in the transcript").

    PromptSanitizer   on_submit            neutralize the prompt and criteria; drop server secrets
    ClaimDetector     after_model_call     the model's ``<completion>DONE</completion>`` is a claim
    ToolOutputGuard   after_tool           cut, neutralize (as one stream), redact, frame as untrusted
    CompletionGates   on_completion_claim  ``hooks.completion.validate_completion``: criteria + gates

Each is registered by ``hooks.load_hooks``; none can be removed by configuration.
"""

from __future__ import annotations

import threading
from collections import Counter, OrderedDict
from typing import Any

from agentic_executor.engine import prompts
from agentic_executor.hooks.base import Claim, Finish, HookContext, ModelReply, Submission, ToolResult
from agentic_executor.hooks.redact import redact, redact_server_secrets
from agentic_executor.hooks.sanitize import CARRY_CHARS, Finding, claims_completion, neutralize

SANITIZER_ORDER = 1000
"""Sanitizers run after every other hook, so what a plugin adds is neutralized too."""
MAX_RECORDED_CHARS = 300


def record_findings(ctx: HookContext, source: str, findings: list[Finding]) -> None:
    """One ``prompt_injection_detected`` event with every removed span (secrets in them redacted)."""
    if not findings:
        return
    removed = []
    for f in findings[:50]:
        text, _ = redact(f.text[:MAX_RECORDED_CHARS])
        removed.append({"kind": f.kind, "text": text, **({"split": True} if f.split else {})})
    data: dict[str, Any] = {"source": source, "removed": removed}
    if len(findings) > 50:
        data["more"] = len(findings) - 50
    ctx.record("prompt_injection_detected", data)


def record_redactions(ctx: HookContext, source: str, kinds: list[str]) -> None:
    """One ``content_redacted`` event: the kinds and counts, never the values."""
    if kinds:
        ctx.record("content_redacted", {"source": source, "redacted": dict(Counter(kinds))})


class PromptSanitizer:
    name = "sanitize-prompt"
    order = SANITIZER_ORDER

    def on_submit(self, ctx: Submission) -> None:
        findings: list[Finding] = []
        kinds: list[str] = []
        ctx.prompt, found = neutralize(ctx.prompt)
        findings += found
        ctx.prompt, removed = redact_server_secrets(ctx.prompt)
        kinds += removed
        criteria = []
        for criterion in ctx.criteria:
            clean, found = neutralize(criterion)
            clean, removed = redact_server_secrets(clean)
            findings += found
            kinds += removed
            criteria.append(clean)
        ctx.criteria = criteria
        if ctx.title:
            ctx.title, found = neutralize(ctx.title)
            findings += found
        record_findings(ctx, "submit", findings)
        record_redactions(ctx, "submit", kinds)


class ClaimDetector:
    name = "completion-claims"

    def after_model_call(self, ctx: ModelReply) -> None:
        # Joined without a separator: a signal split over two text blocks is still the model's claim.
        text = "".join(str(b.get("text", "")) for b in ctx.content if b.get("type") == "text")
        if ctx.claim is None and claims_completion(text):
            ctx.claim = text


class ToolOutputGuard:
    """Every tool result, before the model reads it: cut to ``max_chars`` (keeping the start and the
    end), neutralized as part of one stream with the session's previous results (``carry``), then
    redacted, then framed as untrusted data."""

    name = "sanitize-tool-output"
    order = SANITIZER_ORDER
    MAX_SESSIONS = 1024

    def __init__(self, max_chars: int = 40_000) -> None:
        self.max_chars = max_chars
        self._carry: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def after_tool(self, ctx: ToolResult) -> None:
        source = f"tool:{ctx.name}"
        text, cut = ctx.content, 0
        if len(text) > self.max_chars:
            head_chars = self.max_chars * 2 // 3
            tail_chars = self.max_chars - head_chars
            cut = len(text) - head_chars - tail_chars
            head, tail = text[:head_chars], text[-tail_chars:]
        else:
            head, tail = text, ""
        with self._lock:
            carry = self._carry.get(ctx.session.id, "")
        body, findings = neutralize(head, carry=carry)
        if tail:  # the cut joins head and tail: scan them as one stream too
            clean_tail, more = neutralize(tail, carry=body[-CARRY_CHARS:])
            body += prompts.truncated(cut, len(text)) + clean_tail
            findings += more
        s = ctx.session
        body, kinds = redact(
            body,
            budget_figures=(s.budget_micros, s.consumed_micros, s.budget_micros - s.consumed_micros),
            system_prompt=prompts.SYSTEM_PROMPT,
        )
        with self._lock:
            self._carry[s.id] = body[-CARRY_CHARS:]
            self._carry.move_to_end(s.id)
            while len(self._carry) > self.MAX_SESSIONS:
                self._carry.popitem(last=False)
        record_findings(ctx, source, findings)
        record_redactions(ctx, source, kinds)
        if findings:
            body = f"{body}\n{prompts.INJECTION_NOTE}"
        ctx.content = prompts.tool_output(ctx.name if ctx.name.isidentifier() else "unknown", body)

    def on_finish(self, ctx: Finish) -> None:
        with self._lock:
            self._carry.pop(ctx.session.id, None)


class CompletionGates:
    """The completion rules and quality gates (``hooks.completion``, ``gates/``) decide a claim."""

    name = "completion-gates"

    def on_completion_claim(self, ctx: Claim) -> None:
        from agentic_executor.hooks.completion import validate_completion  # the gates are heavy to import

        s = ctx.session
        verdict = validate_completion(
            s.workspace, list(s.criteria), s.task_type, ctx.summary, settings=s.settings, session_id=s.id
        )
        for result in verdict.gate_results:
            ctx.record("gate_result", result)
        ctx.checks += verdict.checks
        ctx.for_reviewer += verdict.for_reviewer
        if verdict.approved:
            ctx.approve()
        else:
            ctx.reject(*(verdict.required_actions or ["the completion validation did not approve the claim"]))


def builtin_hooks() -> list[object]:
    return [ClaimDetector(), CompletionGates(), PromptSanitizer(), ToolOutputGuard()]
