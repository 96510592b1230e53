"""``python -m agentic_executor`` is ``agx``."""

from agentic_executor.cli import main

main()
