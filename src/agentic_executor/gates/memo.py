"""Per-process memo of browser-tool results keyed by site content: ``Memo``, ``clear_memos``.

A key always starts with the site's digest (every file's path and bytes), so a changed file
anywhere is a new run; re-checking unchanged work (a repeated claim, the same site twice) reuses
the result instead of paying for the browser again. Bounded; safe across threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

T = TypeVar("T")
_ALL: list[Memo[object]] = []


class Memo(Generic[T]):
    def __init__(self, size: int = 32) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        _ALL.append(self)  # type: ignore[arg-type]

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            return None

    def put(self, key: Hashable, value: T) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def clear_memos() -> None:
    """Forget every memoized result (benchmarks and tests that must measure real runs)."""
    for memo in _ALL:
        memo.clear()
