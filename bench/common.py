"""Shared helpers for the benchmarks: timing, percentiles, PostgreSQL schemas, machine facts, Markdown.

Every figure is taken with ``time.perf_counter_ns``. Percentiles interpolate linearly between the two
nearest ranks (numpy's default), so p99 of 50 samples lies between the two largest.
"""

from __future__ import annotations

import functools
import math
import platform
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) with linear interpolation; NaN for no values."""
    ordered = sorted(values)
    if not ordered:
        return math.nan
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ms(ns: float) -> str:
    """Nanoseconds as milliseconds, three decimals."""
    return f"{ns / 1e6:.3f}"


def pct(share: float) -> str:
    return f"{100 * share:.1f}%"


def yes_no(ok: bool) -> str:
    return "**yes**" if ok else "**NO**"


# ---- results ----------------------------------------------------------------------------------
@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = [f"**{self.title}**", "", "| " + " | ".join(self.headers) + " |"]
        lines.append("|" + "|".join("---" for _ in self.headers) + "|")
        lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in self.rows]
        return "\n".join(lines)


@dataclass
class Section:
    """One benchmark's results: what was measured, its tables, notes, and console summary lines."""

    title: str
    about: str
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        parts = [f"## {self.title}", "", self.about.strip().replace("``", "`"), ""]
        for table in self.tables:
            parts += [table.markdown(), ""]
        if self.notes:
            parts += ["Notes:", "", *[f"- {n}" for n in self.notes], ""]
        return "\n".join(parts)


# ---- PostgreSQL ---------------------------------------------------------------------------------
@functools.cache
def pg_probe() -> tuple[str | None, str | None]:
    """(server version, None) when PostgreSQL answers, else (None, the reason)."""
    try:
        engine = sa.create_engine(PG_URL, poolclass=NullPool, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        engine.dispose()
        return str(version), None
    except Exception as exc:  # any failure means unreachable: reported, not raised
        return None, str(exc).strip().splitlines()[0]


@contextmanager
def pg_schema() -> Iterator[str]:
    """A URL whose search_path is a fresh private schema, dropped afterwards (PG must be reachable)."""
    schema = f"agx_bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(PG_URL, poolclass=NullPool)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# ---- the machine --------------------------------------------------------------------------------
def _run(*cmd: str) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"unknown ({exc})"


def _cpuinfo_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _os() -> str:
    name = platform.system()
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                name = line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return f"{name}, kernel {platform.release()}"


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts(workdir: Path) -> list[tuple[str, str]]:
    pg_version, pg_problem = pg_probe()
    fs = _run("stat", "-f", "-c", "%T", str(workdir))
    device = _run("df", "--output=source", str(workdir)).splitlines()[-1]
    libs = ", ".join(
        f"{d} {_version(d)}" for d in ("sqlalchemy", "psycopg", "anthropic", "langgraph", "langgraph-checkpoint-sqlite")
    )
    return [
        ("CPUs (`nproc`)", _run("nproc")),
        ("CPU model", _cpuinfo_model()),
        ("Memory", _memory()),
        ("OS", _os()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL server", pg_version or f"unreachable: {pg_problem}"),
        ("Temp dir (all SQLite files)", f"{workdir} on {device} ({fs})"),
        ("Libraries", libs),
    ]
