"""The one error a tool raises on purpose: ``ToolError``, whose message is shown to the model.

Invariant: a ``ToolError`` message is safe and useful to show the agent verbatim (it names the
offending argument and, where there is one, the fix); nothing else is sent to the model as an error.
"""

from __future__ import annotations


class ToolError(Exception):
    """A tool call the agent got wrong (bad path, missing file, ambiguous edit…).

    Not an ``AgxError``: it never reaches the API or the CLI, it becomes an ``is_error`` tool result.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
