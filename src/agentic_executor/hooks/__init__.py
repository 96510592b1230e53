"""Hooks: the engine's extension points, and the security and completion policies built on them.

    base.py        the seven hook points, their contexts, the ``HookRegistry``      (start here)
    builtin.py     the built-in hooks: prompt and tool-output sanitizing, claims, completion
    sanitize.py    neutralizing control phrases (completion signals, bypasses, forged roles)
    text.py        the normalized shadow of text those phrases are matched on
    redact.py      secrets, budget internals and the system prompt out of tool output
    completion.py  validating a completion claim: acceptance criteria + quality gates

Adding a hook: write a class with a ``name`` and the points it needs (see ``base.Hook``), then
either ship it under the ``agentic_executor.hooks`` entry-point group::

    [project.entry-points."agentic_executor.hooks"]
    audit = "my_package.hooks:AuditHook"

or name it in ``AGX_HOOKS`` (comma-separated ``module:attribute`` or ``module.attribute``). An
entry point or path may name a hook object or a class (called without arguments). The engine is
not touched, and user hooks can add checks but never remove the built-in ones.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
from importlib.metadata import entry_points

from agentic_executor.errors import BadInput
from agentic_executor.hooks.base import (
    POINTS,
    Claim,
    Finish,
    Hook,
    HookRegistry,
    ModelCall,
    ModelReply,
    SessionInfo,
    Submission,
    ToolCall,
    ToolResult,
)
from agentic_executor.hooks.builtin import builtin_hooks

__all__ = [
    "ENTRY_POINT_GROUP",
    "ENV_VAR",
    "POINTS",
    "Claim",
    "Finish",
    "Hook",
    "HookRegistry",
    "ModelCall",
    "ModelReply",
    "SessionInfo",
    "Submission",
    "ToolCall",
    "ToolResult",
    "default_hooks",
    "load_hooks",
]

ENTRY_POINT_GROUP = "agentic_executor.hooks"
ENV_VAR = "AGX_HOOKS"
log = logging.getLogger(__name__)


def _instance(loaded: object) -> object:
    return loaded() if isinstance(loaded, type) else loaded


def _import(path: str) -> object:
    module_name, sep, attribute = path.partition(":")
    if not sep:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise BadInput(f"{ENV_VAR}: {path!r} is not a dotted path (module:attribute)", details={"field": ENV_VAR})
    try:
        found: object = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise BadInput(f"{ENV_VAR}: cannot load hook {path!r}: {exc}", details={"field": ENV_VAR}) from exc
    return found


def load_hooks(paths: str | None = None) -> HookRegistry:
    """The built-in hooks, then those of installed packages (entry points), then ``paths``
    (default: the ``AGX_HOOKS`` environment variable). A path that cannot be loaded is an error;
    a broken package's hook is logged and skipped, as for gates."""
    registry = HookRegistry(builtin_hooks())
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            registry.register(_instance(point.load()))
        except Exception:  # a broken plugin must not take the engine down; the built-ins still run
            log.exception("could not load hook %r from %s", point.name, point.value)
    for path in (os.environ.get(ENV_VAR, "") if paths is None else paths).split(","):
        if path.strip():
            try:
                registry.register(_instance(_import(path.strip())))
            except (TypeError, ValueError) as exc:
                raise BadInput(f"{ENV_VAR}: {exc}", details={"field": ENV_VAR}) from exc
    return registry


@functools.cache
def default_hooks() -> HookRegistry:
    """The process's hooks, loaded once (``default_hooks.cache_clear()`` to load them again)."""
    return load_hooks()
