"""Replay a recorded session: its model answers, in order, with their recorded usage.

``replay:agt_…`` as the model name plays back that session's assistant turns one per call,
deterministically, so a demo or a bug report runs again without a model. Calls are priced as
the recorded model's, so the budget behaves as it did.
"""

from __future__ import annotations

import json

from sqlalchemy import select

from agentic_executor.budget.prices import Usage
from agentic_executor.errors import NotFound, ProviderError
from agentic_executor.providers.base import ModelRequest, ModelResponse
from agentic_executor.store import queries
from agentic_executor.store.db import Database
from agentic_executor.store.tables import iterations


class ReplayProvider:
    name = "replay"

    def __init__(self, db: Database, session_id: str) -> None:
        with db.transaction() as conn:
            session = queries.get_session(conn, session_id)
            turns = [m for m in queries.load_messages(conn, session_id) if m["role"] == "assistant"]
            rows = conn.execute(
                select(iterations).where(iterations.c.session_id == session_id).order_by(iterations.c.iteration)
            ).all()
        if not turns:
            raise NotFound(f"session {session_id} has no recorded model answers to replay")
        self.model = session.model
        self.turns = turns
        self.usages = [Usage(r.input_tokens, r.output_tokens, r.cache_read_tokens, r.cache_write_tokens) for r in rows]
        self.position = 0

    def count_input_tokens(self, request: ModelRequest) -> int:
        if self.position < len(self.usages):
            return self.usages[self.position].total_input_tokens
        return len(json.dumps(request.messages).encode())

    def complete(self, request: ModelRequest) -> ModelResponse:
        if self.position >= len(self.turns):
            raise ProviderError(f"the recording has only {len(self.turns)} model answers")
        usage = self.usages[self.position] if self.position < len(self.usages) else Usage()
        content = self.turns[self.position]["content"]
        self.position += 1
        if usage.output_tokens > request.max_tokens:
            raise ProviderError("the recorded answer is larger than what the budget allows now")
        stop = "tool_use" if any(b.get("type") == "tool_use" for b in content) else "end_turn"
        return ModelResponse(content, stop, usage, self.model.partition(":")[2] or self.model, None)
