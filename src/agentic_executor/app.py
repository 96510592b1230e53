"""The application's shared parts, opened once per process: settings, database, ledger, prices,
and (made on first use) the DBOS client that puts session runs on the queue."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from agentic_executor.budget.ledger import Ledger
from agentic_executor.budget.prices import PriceBook
from agentic_executor.config import Settings, get_settings
from agentic_executor.store.db import Database, open_database


@dataclass
class App:
    settings: Settings
    db: Database
    ledger: Ledger
    prices: PriceBook
    _queue_client: Any = field(default=None, init=False, repr=False)
    _queue_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @classmethod
    def open(cls, settings: Settings | None = None) -> App:
        settings = settings or get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        db = open_database(settings.db_url)
        return cls(settings, db, Ledger(db), PriceBook(settings.effective_prices_file))

    def queue_client(self) -> Any:
        """This process's ``DBOSClient`` (one connection pool, made once: on PostgreSQL a new
        client costs most of a second)."""
        with self._queue_lock:
            if self._queue_client is None:
                from agentic_executor.runtime import dbos_setup

                self._queue_client = dbos_setup.client(self.settings)
            return self._queue_client

    def close(self) -> None:
        with self._queue_lock:
            if self._queue_client is not None:
                self._queue_client.destroy()
                self._queue_client = None
        self.db.dispose()

    @classmethod
    @contextmanager
    def opened(cls, settings: Settings | None = None) -> Iterator[App]:
        """``App.open`` for the length of a ``with`` block (one CLI command, one test)."""
        app = cls.open(settings)
        try:
            yield app
        finally:
            app.close()
