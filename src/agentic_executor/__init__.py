"""Agentic Executor: autonomous LLM agents under a hard dollar budget that is never exceeded."""

__version__ = "0.1.0"
