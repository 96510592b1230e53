"""The HTTP API (``agx serve``): the seed's endpoints and shapes, SSE events, previews, review, metrics."""

from agentic_executor.api.app import create_app

__all__ = ["create_app"]
