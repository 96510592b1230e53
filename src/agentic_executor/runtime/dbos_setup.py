"""DBOS configuration shared by workers (which run workflows) and clients (which only enqueue).

The system database is ``$AGX_HOME/dbos.sqlite`` on the embedded default, or the same PostgreSQL
database as the service's tables (in its own schema) when ``AGX_DATABASE_URL`` is set. The
application version is pinned to the package version, so a worker only recovers runs that its
own code started.
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS, DBOSClient, DBOSConfig

from agentic_executor import __version__
from agentic_executor.config import Settings

APP_NAME = "agentic_executor"


def system_database_url(settings: Settings) -> str:
    if settings.database_url:
        url = settings.db_url
        return url.split("?", 1)[0]  # DBOS keeps its tables in its own schema (dbos_schema)
    return f"sqlite:///{settings.home / 'dbos.sqlite'}"


def dbos_config(settings: Settings, executor_id: str) -> DBOSConfig:
    return {
        "name": APP_NAME,
        "system_database_url": system_database_url(settings),
        "dbos_system_schema": settings.dbos_schema,
        "application_version": __version__,
        "executor_id": executor_id,
        "log_level": "WARNING",
        "run_migrations": True,
    }


def migrate(settings: Settings) -> None:
    DBOS.migrate(system_database_url(settings), schema=settings.dbos_schema)


def client(settings: Settings) -> DBOSClient:
    migrate(settings)  # a client never creates the system database itself
    return DBOSClient(
        system_database_url=system_database_url(settings),
        dbos_system_schema=settings.dbos_schema,
        application_name=APP_NAME,
    )


def enqueue_options(workflow_name: str, queue_name: str, wf_id: str) -> Any:
    return {"workflow_name": workflow_name, "queue_name": queue_name, "workflow_id": wf_id, "app_version": __version__}
