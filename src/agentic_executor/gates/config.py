"""The gates config: which gates each task type runs, with which options (``load_gates_config``).

The built-in defaults live in ``defaults.toml`` beside this module; a user's TOML file (the
``gates_file`` setting, else ``$AGX_HOME/gates.toml`` when it exists) is merged over them. A bad
file is a ``BadInput`` naming the file and the problem, never a silent default.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from agentic_executor.errors import BadInput

DEFAULT_TASK_TYPE = "default"
PATH_OPTIONS = frozenset({"rules"})
"""Gate options that name a file: relative values are read from the config file's folder."""


@dataclass(frozen=True)
class GatesConfig:
    data: Mapping[str, Any]
    source: Path | None = None
    """The user's file merged over the defaults, if any (relative paths in it are read from its folder)."""

    def _task(self, task_type: str | None) -> Mapping[str, Any]:
        types = self.data.get("task_types", {})
        task: Mapping[str, Any] = types.get(task_type or DEFAULT_TASK_TYPE) or types.get(DEFAULT_TASK_TYPE, {})
        return task

    def gates_for(self, task_type: str | None) -> list[str]:
        return list(self._task(task_type).get("gates", []))

    def allows_unavailable(self, task_type: str | None, gate: str) -> bool:
        return gate in self._task(task_type).get("allow_unavailable", [])

    def options_for(self, gate: str, task_type: str | None) -> dict[str, Any]:
        options = dict(self.data.get("gates", {}).get(gate, {}))
        options.update(self._task(task_type).get("options", {}).get(gate, {}))
        for key in PATH_OPTIONS & options.keys():
            if options[key]:
                options[key] = str(self.path(str(options[key])))
        return options

    @property
    def lighthouse(self) -> Mapping[str, Any]:
        return dict(self.data.get("lighthouse", {}))

    @property
    def cache(self) -> bool:
        return bool(self.data.get("cache", True))

    def tool(self, name: str) -> str:
        return str(self.data.get("tools", {}).get(name, "") or "")

    def path(self, value: str) -> Path:
        """A path from the config: relative ones are read from the user's file's folder."""
        path = Path(value).expanduser()
        if not path.is_absolute() and self.source is not None:
            path = self.source.parent / path
        return path


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def default_data() -> dict[str, Any]:
    text = resources.files("agentic_executor.gates").joinpath("defaults.toml").read_text()
    return tomllib.loads(text)


def load_gates_config(path: Path | None = None, *, required: bool = False) -> GatesConfig:
    """The defaults, with ``path`` merged over them when it exists (``required``: it must)."""
    data = default_data()
    if path is None or not path.exists():
        if required and path is not None:
            raise BadInput(f"gates config {path} does not exist", details={"field": "gates_file"})
        return GatesConfig(data)
    try:
        user = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BadInput(f"gates config {path} cannot be read: {exc}", details={"field": "gates_file"}) from exc
    _check(user, path)
    return GatesConfig(_merge(data, user), source=path.resolve())


def _check(user: Mapping[str, Any], path: Path) -> None:
    for name, task in user.get("task_types", {}).items():
        gates = task.get("gates", [])
        if not isinstance(gates, list) or not all(isinstance(g, str) for g in gates):
            raise BadInput(f"gates config {path}: task_types.{name}.gates must be a list of gate names")
    severity = user.get("gates", {}).get("security", {}).get("min_severity")
    if severity is not None and severity not in ("low", "medium", "high"):
        raise BadInput(f"gates config {path}: gates.security.min_severity must be low, medium or high")


def gates_file_for(settings: Any) -> Path:
    """The settings' ``gates_file`` if set, else ``$AGX_HOME/gates.toml``."""
    configured = getattr(settings, "gates_file", None)
    return Path(configured) if configured else Path(settings.home) / "gates.toml"
