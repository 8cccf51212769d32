"""A bounded store of finished answers in process memory, each kept for a second or so: the
catalog's JSON micro-cache (``catalog/microcache.py``) and the parent site's page cache
(``web/pagecache.py``) keep their bodies here."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable


class AnswerMemo:
    def __init__(self, max_entries: int):
        self._max = max_entries
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self.clock = time.monotonic  # tests may move it

    def fresh(self, key: Hashable) -> bytes | None:
        """The body kept under ``key`` while it has not expired."""
        hit = self._entries.get(key)
        if hit is None or hit[0] < self.clock():
            return None
        return hit[1]

    def keep(self, key: Hashable, body: bytes, seconds: float) -> None:
        """Keep ``body`` for ``seconds``; when full, the expired entries go first (all of
        them if none has expired)."""
        expires = self.clock() + seconds
        with self._lock:
            if len(self._entries) >= self._max:
                now = self.clock()
                stale = [k for k, (exp, _) in self._entries.items() if exp < now]
                for key_gone in stale or list(self._entries):
                    self._entries.pop(key_gone, None)
            self._entries[key] = (expires, body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
