"""Chaos tests share the worker-cluster fixture of the runtime tests."""

from ..runtime.conftest import make_cluster  # noqa: F401 - a fixture, registered by import
