"""A one-second, per-process cache of finished public catalog answers.

During a sale thousands of parents refresh the same listing and event pages. The Redis cache
already spares the database, but each request still pays argument parsing, a Redis round trip for
the payload and, for a detail, the live-seat overlay query. Here the finished body is kept in
process memory for ``CATALOG_MICROCACHE_SECONDS`` (default 1), keyed by the catalog version, so
seat counts are at most a second older than the layer below. The version itself is re-read from
Redis at most every ``VERSION_RECHECK_SECONDS``: an admin write is seen at once by the process that
made it and within a quarter of a second by the others, and a cached answer costs no round trip.
Only anonymous GETs are served from it: a signed-in request may depend on who asks
(``child_id``).
"""

from __future__ import annotations

import time

from flask import Response, current_app, request

from nibog.core import cache as core_cache
from nibog.core.memo import AnswerMemo

NAMESPACE = "catalog"
VERSION_RECHECK_SECONDS = 0.25

# (catalog version, path) -> JSON body
_answers = AnswerMemo("microcache", "application/json", max_entries=2048, counted="micro")
# (read at, this process's bump count then, version)
_version: tuple[float, int, int] | None = None


def ttl() -> float:
    """How long a finished answer is kept (0: not at all); the page cache keeps its pages
    as long."""
    if not current_app.config.get("CATALOG_CACHE_ENABLED", True):
        return 0.0
    return float(current_app.config.get("CATALOG_MICROCACHE_SECONDS", 1))


def _key() -> tuple[int, str] | None:
    if request.method != "GET" or "Authorization" in request.headers or ttl() <= 0:
        return None
    return catalog_version(), request.full_path


def catalog_version() -> int:
    """The catalog cache's version, re-read from Redis at most every
    ``VERSION_RECHECK_SECONDS`` (at once after this process's own bump)."""
    global _version
    now = time.monotonic()
    bumps = core_cache.LOCAL_BUMPS.get(NAMESPACE, 0)
    known = _version
    if known is not None and known[1] == bumps and now - known[0] < VERSION_RECHECK_SECONDS:
        return known[2]
    version = core_cache.namespace_version(NAMESPACE)
    _version = (now, bumps, version)
    return version


def serve_cached():
    """``before_request``: the stored answer while it is fresh, else None (the view runs)."""
    return _answers.serve(_key())


def store(response: Response) -> Response:
    """``after_request``: keep a successful JSON answer for the next second."""
    return _answers.store(response, ttl())


def clear() -> None:
    global _version
    _answers.clear()
    _version = None
