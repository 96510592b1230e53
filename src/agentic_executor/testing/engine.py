"""The fake model's request handling, free of HTTP: validate a request, ask the scenario for a reply,
apply max_tokens and the prompt cache, and build the response (JSON body or SSE events); it also
records every exchange."""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentic_executor.testing.conversation import Conversation
from agentic_executor.testing.scenarios import SCENARIOS, Failure, Scenario, ScenarioRequest
from agentic_executor.testing.tokens import PromptCache, canonical, count_prompt, prompt_segments
from agentic_executor.testing.validation import (
    InvalidRequest,
    thinking_budget,
    thinking_enabled,
    validate_count_tokens,
    validate_create,
)
from agentic_executor.testing.wire import (
    DEFAULT_ERROR_MESSAGES,
    DEFAULT_SECRET,
    error_body,
    finalize,
    message_json,
    new_request_id,
    sign_thinking,
    stream_events,
)

MESSAGES_PATH = "/v1/messages"
COUNT_TOKENS_PATH = "/v1/messages/count_tokens"


@dataclass(frozen=True)
class Response:
    """What to send back: a JSON body, or (``stream``) the SSE encoding of the message in ``body``."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    stream: bool = False
    stream_error: dict[str, Any] | None = None

    def events(self) -> Iterator[bytes]:
        return stream_events(self.body, error=self.stream_error)


@dataclass(frozen=True)
class Exchange:
    """One request the server answered, as the server saw it (the ground truth of what was billed)."""

    path: str
    scenario: str
    body: Any
    status: int
    stream: bool
    response: dict[str, Any]
    """The message (JSON or assembled from the stream), the count_tokens result, or the error body."""

    @property
    def usage(self) -> dict[str, Any] | None:
        """Billed usage of a successful /v1/messages call, else None."""
        if self.path != MESSAGES_PATH or self.status != 200 or self.response.get("type") != "message":
            return None
        usage = self.response.get("usage")
        return usage if isinstance(usage, dict) else None


def _digest(text: str, length: int = 24) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


class FakeModel:
    """Thread-safe request handler shared by every connection of one FakeModelServer."""

    def __init__(
        self,
        scenarios: Mapping[str, Scenario] | None = None,
        *,
        min_cache_tokens: int = 1024,
        retry_after: float = 0,
        secret: bytes = DEFAULT_SECRET,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.scenarios: dict[str, Scenario] = dict(SCENARIOS if scenarios is None else scenarios)
        self.retry_after = retry_after
        self.secret = secret
        self.cache = PromptCache(min_cache_tokens, clock)
        self._lock = threading.Lock()
        self._requests: list[Any] = []
        self._exchanges: list[Exchange] = []
        self._attempts: dict[str, int] = {}
        self._sequence = itertools.count(1)

    @property
    def requests(self) -> list[Any]:
        with self._lock:
            return list(self._requests)

    @property
    def exchanges(self) -> list[Exchange]:
        with self._lock:
            return list(self._exchanges)

    def reset(self) -> None:
        """Forget recorded requests, retry attempts and the prompt cache."""
        with self._lock:
            self._requests.clear()
            self._exchanges.clear()
            self._attempts.clear()
        self.cache.clear()

    # -- responses -------------------------------------------------------------------------------

    def error(self, status: int, message: str, *, headers: Mapping[str, str] | None = None) -> Response:
        request_id = new_request_id()
        all_headers = {"request-id": request_id, **(headers or {})}
        if status == 429:
            all_headers.setdefault("retry-after", _seconds(self.retry_after))
        if status in (429, 500, 529):
            all_headers.setdefault("x-should-retry", "true")
        return Response(status, error_body(status, message, request_id), all_headers)

    def handle(self, path: str, scenario: str, raw: bytes) -> Response:
        """Answer one POST ``path`` (already stripped of the ``/s/<scenario>`` prefix)."""
        body: Any = None
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            response = self.error(400, f"There was an issue with the format of your request: {exc}")
        else:
            if path == MESSAGES_PATH:
                with self._lock:
                    self._requests.append(body)
                response = self._create(body, scenario)
            else:
                response = self._count_tokens(body)
        self._record(path, scenario, body, response)
        return response

    def _record(self, path: str, scenario: str, body: Any, response: Response) -> None:
        shown = response.body
        if response.stream_error is not None:
            shown = response.stream_error
        stream = response.stream or (isinstance(body, dict) and body.get("stream") is True)
        with self._lock:
            self._exchanges.append(Exchange(path, scenario, body, response.status, stream, shown))

    def _count_tokens(self, body: Any) -> Response:
        try:
            validate_count_tokens(body, self.secret)
        except InvalidRequest as exc:
            return self.error(400, exc.message)
        return Response(200, {"input_tokens": count_prompt(body)}, {"request-id": new_request_id()})

    def _create(self, body: Any, scenario_name: str) -> Response:
        try:
            validate_create(body, self.secret)
        except InvalidRequest as exc:
            return self.error(400, exc.message)
        scenario = self.scenarios[scenario_name]
        messages_key = _digest(canonical(body["messages"]), 64)
        with self._lock:
            key = f"{scenario_name}:{messages_key}"
            self._attempts[key] = attempt = self._attempts.get(key, 0) + 1
        offered = frozenset(
            t["name"] for t in body.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)
        )
        thinks = thinking_enabled(body)
        request = ScenarioRequest(body, Conversation(body["messages"]), offered, thinks, body["max_tokens"], attempt)
        try:
            reply = scenario.respond(request)
        except Exception as exc:  # a broken scenario is the server's fault: 500 like the real API
            return self.error(500, f"Internal server error (scenario {scenario_name!r} failed: {exc!r})")
        streaming = body.get("stream") is True
        if isinstance(reply, Failure) and not (reply.mid_stream and streaming):
            return self.error(reply.status, reply.message or DEFAULT_ERROR_MESSAGES.get(reply.status, "Error"))
        blocks = [] if isinstance(reply, Failure) else reply
        prepared = []
        for index, block in enumerate(blocks):
            if block.get("type") == "thinking" and not thinks:
                continue
            if block.get("type") == "tool_use" and not block.get("id"):
                block = {**block, "id": "toolu_" + _digest(f"{messages_key}:{index}:{block.get('name')}")}
            prepared.append(block)
        generated = finalize(
            prepared,
            max_tokens=body["max_tokens"],
            stop_sequences=body.get("stop_sequences") or (),
            thinking_budget=thinking_budget(body),
            secret=self.secret,
        )
        if isinstance(body.get("thinking"), dict) and body["thinking"].get("display") == "omitted":
            for block in generated.content:
                if block["type"] == "thinking":
                    block["thinking"], block["signature"] = "", sign_thinking(self.secret, "")
        usage = self.cache.apply(body["model"], prompt_segments(body))
        message_id = "msg_" + _digest(f"{next(self._sequence)}:{messages_key}:{time.time_ns()}")
        message = message_json(message_id, body["model"], generated, usage)
        headers = {"request-id": new_request_id()}
        if isinstance(reply, Failure):
            error = error_body(
                reply.status, reply.message or DEFAULT_ERROR_MESSAGES.get(reply.status, "Error"), headers["request-id"]
            )
            return Response(200, message, headers, stream=True, stream_error=error)
        return Response(200, message, headers, stream=streaming)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
