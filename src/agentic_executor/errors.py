"""The project's exception tree: one base, a code and an HTTP status on each.

    AgxError                    code, message, status, details
    ├── BadInput                422  a field or argument is invalid (names the field and the fix)
    │   └── UnknownModel        422  a model name that is not an exact, priced model
    ├── NotFound                404  an id that does not exist
    ├── Conflict                409  a transition that the current state does not allow
    ├── BudgetExhausted         402  not even a minimal model call fits in what is left
    └── ProviderError           502  the model provider failed after every retry

The API maps any AgxError to ``{"error": {"code", "message", "details"}}`` in one handler; the
CLI prints ``message`` on one line and exits with status 2. Shutdown and cancellation are not
``Exception`` subclasses, so ``except Exception`` never swallows them.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    BAD_INPUT = "bad_input"
    UNKNOWN_MODEL = "unknown_model"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    BUDGET_EXHAUSTED = "budget_exhausted"
    PROVIDER_ERROR = "provider_error"


class AgxError(Exception):
    code: ErrorCode = ErrorCode.BAD_INPUT
    status: int = 400

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}

    def to_json(self) -> dict[str, Any]:
        return {"error": {"code": str(self.code), "message": self.message, "details": self.details}}


class BadInput(AgxError):
    code = ErrorCode.BAD_INPUT
    status = 422


class UnknownModel(BadInput):
    code = ErrorCode.UNKNOWN_MODEL


class NotFound(AgxError):
    code = ErrorCode.NOT_FOUND
    status = 404


class Conflict(AgxError):
    code = ErrorCode.CONFLICT
    status = 409


class BudgetExhausted(AgxError):
    code = ErrorCode.BUDGET_EXHAUSTED
    status = 402


class ProviderError(AgxError):
    code = ErrorCode.PROVIDER_ERROR
    status = 502
