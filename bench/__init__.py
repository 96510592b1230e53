"""Benchmarks of agentic_executor: ledger latency, loop overhead, prompt-cache share.

Run ``.venv/bin/python -m bench`` (or ``-m bench ledger|loop|cache``); results go to ``bench/RESULTS.md``.
"""
