"""Small per-process caches with a short TTL, for values read on every /v1 request.

Each entry lives at most `ttl` seconds; callers put a version read from the shared cache in the
key (the catalog version) when a change must be seen at once on every node, so the TTL only
bounds changes that bump no version. Values are shared by every request of the process and must
not be mutated. `local_caches_clear()` empties them all (tests, after a fork).
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

_ALL: list["LocalCache"] = []
_MISSING = object()


class LocalCache:
    """A dict with per-entry expiry; at `max_entries` it starts over rather than tracking LRU."""

    def __init__(self, name: str, *, ttl: Callable[[], float], max_entries: int = 4096) -> None:
        self.name = name
        self._ttl = ttl
        self._max_entries = max_entries
        self._items: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        _ALL.append(self)

    def get(self, key: Hashable, default: Any = None) -> Any:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            return default
        return item[1]

    def set(self, key: Hashable, value: Any, ttl: float | None = None) -> None:
        """Keep `value` for the cache's TTL, or `ttl` seconds when given (0 or less: not kept)."""
        ttl = self._ttl() if ttl is None else ttl
        if ttl <= 0:
            return
        with self._lock:
            if len(self._items) >= self._max_entries:
                self._items.clear()
            self._items[key] = (time.monotonic() + ttl, value)

    def get_or_set(self, key: Hashable, make: Callable[[], T]) -> T:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            value = make()
            self.set(key, value)
        return value

    def delete(self, key: Hashable) -> None:
        with self._lock:
            self._items.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def local_caches_clear() -> None:
    for local in _ALL:
        local.clear()
