"""Every error the API returns, in one JSON shape: ``{"error": {"code", "message", "details"}}``.

- ``AgxError`` (the library's tree: 402, 404, 409, 422, 502) → its own status and ``to_json``.
- ``ApiError``: errors that only exist at the HTTP edge (401, 403, 413, 503).
- FastAPI's ``RequestValidationError`` → 422, naming each field and what it must be.
- Starlette's ``HTTPException`` (unknown route 404, wrong method 405) → the same shape.
- A database that stays busy → 503 with ``Retry-After``; anything else unexpected → 500, logged.

A body over the limit is refused with 413 before it is read whole (``BodyLimit``).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentic_executor.errors import AgxError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
"""Largest request body accepted: a prompt is at most 100,000 characters, a convoy at most 100 tasks."""


class ApiError(Exception):
    """An error of the HTTP edge itself (authentication, scope, size, overload)."""

    def __init__(self, status: int, code: str, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details or {}

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: dict[str, Any]


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx response."""

    error: ErrorDetail


def error_response(status: int, code: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": details or {}}}, status_code=status)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"


def validation_error(exc: RequestValidationError) -> JSONResponse:
    errors = []
    for e in exc.errors():
        loc = tuple(e.get("loc", ()))
        errors.append(
            {
                "field": _field(loc),
                "location": str(loc[0]) if loc else "body",
                "message": str(e.get("msg", "invalid")),
                "type": str(e.get("type", "")),
            }
        )
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    message = f"{first['field']}: {first['message']}"
    if first.get("type") == "json_invalid":
        message = "the body is not valid JSON: send a JSON object with Content-Type: application/json"
    elif first.get("type") == "missing":
        message = f"{first['field']} is required: add it to the request"
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more: see details.errors)"
    return error_response(422, "bad_input", message, {"field": first["field"], "errors": errors})


def install(app: FastAPI) -> None:
    async def agx_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AgxError | ApiError)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse(exc.to_json(), status_code=exc.status, headers=headers)

    async def request_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_error(exc)

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        if isinstance(exc.__cause__, _TooLarge):  # FastAPI wraps a failed body read in a 400
            return too_large(MAX_BODY_BYTES)
        if exc.status_code == 400:
            return error_response(422, "bad_input", f"the request body could not be read ({exc.detail}): send JSON")
        if exc.status_code == 404:
            return error_response(404, "not_found", "no such endpoint: see /docs for the API")
        if exc.status_code == 405:
            return error_response(405, "method_not_allowed", "this endpoint does not take that method: see /docs", {})
        return error_response(exc.status_code, "http_error", str(exc.detail))

    async def busy(_: Request, exc: Exception) -> JSONResponse:
        log.warning("database unavailable: %s", exc)
        response = error_response(503, "unavailable", "the database is busy or unreachable: retry shortly")
        response.headers["Retry-After"] = "1"
        return response

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal", "internal error: it is logged on the server")

    app.add_exception_handler(AgxError, agx_error)
    app.add_exception_handler(ApiError, agx_error)
    app.add_exception_handler(RequestValidationError, request_validation)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(OperationalError, busy)
    app.add_exception_handler(Exception, unexpected)


class BodyLimit:
    """Refuse bodies over ``limit`` bytes with 413, by Content-Length or while they stream in."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        response = too_large(self.limit)
        await send({"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers})
        await send({"type": "http.response.body", "body": response.body})


def too_large(limit: int) -> JSONResponse:
    return error_response(
        413, "too_large", f"the request body is larger than {limit} bytes: send less", {"limit_bytes": limit}
    )


class _TooLarge(Exception):
    pass


_MEANING = {
    401: "No bearer token, or an unknown one.",
    402: "Payment Required: the session's budget is spent; add budget first.",
    403: "The token's scope does not allow this.",
    404: "No such session, convoy or file (another tenant's look the same).",
    409: "The session's state does not allow this transition.",
    413: "The request body is too large.",
    422: "A field is invalid: details name it and say what it must be.",
    503: "The database is busy or unreachable: retry.",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses, all in the one error shape."""
    return {status: {"model": ErrorBody, "description": _MEANING[status]} for status in statuses}
