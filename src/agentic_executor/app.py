"""The application's shared parts, opened once per process: settings, database, ledger, prices."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

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

    @classmethod
    def open(cls, settings: Settings | None = None) -> App:
        settings = settings or get_settings()
        settings.home.mkdir(parents=True, exist_ok=True)
        db = open_database(settings.db_url)
        return cls(settings, db, Ledger(db), PriceBook(settings.effective_prices_file))

    def close(self) -> None:
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
