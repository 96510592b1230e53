"""Settings: every knob of the service in one place, read from ``AGX_*`` environment variables."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path.home() / ".local" / "share" / "agentic-executor"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AGX_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    """Where the embedded database, workspaces and checkpoints live (``AGX_HOME``)."""

    database_url: str | None = None
    """SQLAlchemy URL of the database; unset means SQLite at ``$AGX_HOME/agx.db``.
    ``postgresql://…`` URLs use the psycopg 3 driver."""

    prices_file: Path | None = None
    """A TOML file of model prices that override or extend the genai-prices snapshot;
    unset means ``$AGX_HOME/prices.toml`` when that file exists."""

    default_model: str = "claude-sonnet-4-6"
    """Model used when a task names none."""

    max_tokens: int = 16_000
    """Upper limit of output tokens (thinking included) asked for in one model call; the budget
    may clamp it lower."""

    min_useful_max_tokens: int = 256
    """A call whose budget-clamped ``max_tokens`` falls below this is not made: the session stops
    as ``budget_exhausted`` instead."""

    thinking_budget_tokens: int = 4_000
    """Extended-thinking budget per call (0 turns thinking off); shrunk or dropped when the
    budget clamp leaves no room for it."""

    thinking_mode: str = "enabled"
    """``enabled`` (a fixed thinking budget) or ``adaptive`` (the model decides, where supported)."""

    token_count_margin: float = 0.02
    """Safety margin added to the provider's input-token count before pricing the worst case."""

    retry_attempts: int = 4
    """Attempts per model call on 429/529/5xx/connection errors (each reserved and settled)."""

    retry_base_delay: float = 1.0
    """First backoff delay in seconds, doubled per attempt unless the server sends retry-after."""

    max_rejections: int = 3
    """Completion claims rejected this many times end the session as ``failed``."""

    command_timeout_s: float = 60.0
    """Wall-time limit of one ``run_command`` in the sandbox."""

    checkpoint_every: int = 5
    """Checkpoint the workspace (a git commit, bundled into the database) every N iterations; 0: never."""

    worker_concurrency: int = 4
    """Session runs one worker process drives at once."""

    global_concurrency: int = 0
    """Session runs driven at once across all workers (0: no global limit)."""

    queue_polling_s: float = 0.2
    """How often a worker polls the queue for new runs (DBOS's default of 1 s adds latency)."""

    worker_takeover_s: float = 60.0
    """A worker silent this long is dead: another worker takes its runs over."""

    dbos_schema: str = "dbos"
    """Schema of DBOS's own tables when the system database is PostgreSQL."""

    gates_file: Path | None = None
    """TOML choosing each task type's quality gates and thresholds, merged over gates/defaults.toml;
    unset means ``$AGX_HOME/gates.toml`` when it exists."""

    hooks: str = ""
    """Your own hooks, as comma-separated ``module:Attribute`` paths (entry points in the group
    ``agentic_executor.hooks`` are loaded too); they add checks, never remove the built-in ones."""

    @cached_property
    def db_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://") or url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.split("://", 1)[1]
            return url
        return f"sqlite:///{self.home / 'agx.db'}"

    @property
    def effective_prices_file(self) -> Path:
        return self.prices_file or self.home / "prices.toml"


def get_settings() -> Settings:
    return Settings()
