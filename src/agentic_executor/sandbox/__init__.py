"""Where the agent's actions touch the machine: path checks for file tools, bubblewrap for commands.

Invariant: every path resolves inside the workspace (``resolve_inside``) and every command runs
isolated and limited (``run_command``); see ``paths``, ``runner`` and ``cgroups``.
"""

from agentic_executor.sandbox.errors import ToolError
from agentic_executor.sandbox.paths import SANDBOX_ROOT, resolve_inside
from agentic_executor.sandbox.runner import CommandResult, Limits, bwrap_available, run_command

__all__ = ["SANDBOX_ROOT", "CommandResult", "Limits", "ToolError", "bwrap_available", "resolve_inside", "run_command"]
