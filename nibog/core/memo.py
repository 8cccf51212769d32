"""Finished answers kept in process memory for a second or so, bounded: the catalog's JSON
micro-cache (``catalog/microcache.py``) and the parent site's page cache (``web/pagecache.py``)
are each one ``AnswerMemo``, used as a ``before_request`` (``serve``) and an ``after_request``
(``store``) pair."""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable

from flask import Response, request

from nibog.core import metrics


class AnswerMemo:
    def __init__(self, name: str, mimetype: str, max_entries: int, *, counted: str | None = None):
        self._environ_key = f"nibog.{name}_key"
        self._mimetype = mimetype
        self._max = max_entries
        self._counted = counted  # the cache label of the hit/miss metrics, if counted
        self._lock = threading.Lock()
        self._entries: dict[Hashable, tuple[float, bytes]] = {}
        self.clock = time.monotonic  # tests may move it

    def serve(self, key: Hashable | None) -> Response | None:
        """The answer kept under ``key`` while it is fresh, else None (the view runs, and
        ``store`` keeps what it answers)."""
        if key is None:
            return None
        request.environ[self._environ_key] = key
        hit = self._entries.get(key)
        if hit is None or hit[0] < self.clock():
            if self._counted:
                metrics.CACHE_MISS[self._counted].inc()
            return None
        if self._counted:
            metrics.CACHE_HIT[self._counted].inc()
        # after_request still runs for this answer: it must not store it again, or a URL asked
        # for at least once a second would never expire (and never see a change the key does
        # not cover, such as registration closing at its time).
        request.environ[self._environ_key] = None
        return Response(hit[1], mimetype=self._mimetype)

    def store(self, response: Response, seconds: float) -> Response:
        """Keep a successful answer of our type for ``seconds`` under the key ``serve`` saw;
        when full, the expired entries go first (all of them if none has expired)."""
        key = request.environ.get(self._environ_key)
        if (key is None or response.status_code != 200 or response.mimetype != self._mimetype
                or response.direct_passthrough):
            return response
        expires = self.clock() + seconds
        with self._lock:
            if len(self._entries) >= self._max:
                now = self.clock()
                stale = [k for k, (exp, _) in self._entries.items() if exp < now]
                for key_gone in stale or list(self._entries):
                    self._entries.pop(key_gone, None)
            self._entries[key] = (expires, response.get_data())
        return response

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
