"""``python -m bench [ledger|loop|cache ...]``: run the benchmarks, print a summary, rewrite RESULTS.md.

With no argument every part runs. All data goes to a temporary directory removed at the end.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from time import perf_counter_ns

from . import api, cache, gates, ledger, loop, queue
from .common import Section, machine_facts


class MarkdownPart:
    """A part that returns its own Markdown lines (``## title`` first) instead of a Section."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.title = lines[0].lstrip("# ") if lines else "?"
        self.summary = [line for line in lines if line.startswith("- ") or "target" in line][:3]

    def markdown(self) -> str:
        return "\n".join(self.lines)


PARTS: dict[str, Callable[[Path], Section | MarkdownPart]] = {
    "ledger": ledger.run,
    "loop": loop.run,
    "cache": cache.run,
    "queue": queue.run,
    "api": lambda _dir: MarkdownPart(api.main()),
    "gates": lambda _dir: MarkdownPart(gates.main()),
}
RESULTS = Path(__file__).parent / "RESULTS.md"
PART_RESULTS = Path(__file__).parent / "results"  # one file per part: a partial run keeps the others


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def _git_head() -> str:
    """The commit measured (read-only git), flagged when src/ differs from it."""

    def git(*args: str) -> str:
        repo = RESULTS.parent.parent
        return subprocess.run(["git", *args], capture_output=True, text=True, cwd=repo).stdout.strip()

    head = git("log", "-1", "--format=%h %s")
    if not head:
        return "unknown"
    dirty = git("status", "--porcelain", "--", "src")
    return f"`{head[:100]}`" + (" plus uncommitted changes in src/" if dirty else "")


def main(argv: list[str]) -> int:
    unknown = [a for a in argv if a not in PARTS]
    if unknown:
        sys.stderr.write(f"usage: python -m bench [{'|'.join(PARTS)} ...]; unknown: {' '.join(unknown)}\n")
        return 2
    parts = argv or list(PARTS)
    date = subprocess.run(["date", "-u"], capture_output=True, text=True).stdout.strip()
    command = f"cd {shlex.quote(str(Path.cwd()))} && {shlex.join(sys.orig_argv)}"
    load_before = _loadavg()
    started = perf_counter_ns()
    with tempfile.TemporaryDirectory(prefix="agx-bench-") as tmp:
        facts = machine_facts(Path(tmp))
        sections = []
        for name in parts:
            print(f"[bench] {name} …", flush=True)
            sections.append(PARTS[name](Path(tmp) / name))
    elapsed = (perf_counter_ns() - started) / 1e9
    facts.append(("Load average (1/5/15 min) before → after", f"{load_before} → {_loadavg()}"))

    lines = [
        "# Benchmarks",
        "",
        "Written by `python -m bench` (see `bench/`); rerun it rather than editing this file.",
        "",
        f"- Date: `{date}`",
        f"- Command: `{command}`",
        f"- Code measured: {_git_head()}",
        f"- Parts run this time: {', '.join(parts)} (total {elapsed:.1f} s); other parts keep their last results",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in facts],
        "",
        "Latencies here depend on what else the machine runs: a load average near or above the CPU count "
        "means other processes competed for the CPUs and the disk during the run.",
        "",
    ]
    PART_RESULTS.mkdir(exist_ok=True)
    for name, section in zip(parts, sections, strict=True):
        heading, body = section.markdown().split("\n", 1)
        stamp = f"_Measured {date}; load average {load_before} → {_loadavg()}._"
        (PART_RESULTS / f"{name}.md").write_text(f"{heading}\n\n{stamp}\n{body}")
    for name in PARTS:
        part_file = PART_RESULTS / f"{name}.md"
        if part_file.exists():
            lines.append(part_file.read_text())
    RESULTS.write_text("\n".join(lines).rstrip() + "\n")

    print(f"\n{date} · {elapsed:.1f} s · results in {RESULTS}")
    for section in sections:
        print(f"\n{section.title}")
        for line in section.summary:
            print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
