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

import threading
import time

from flask import Response, current_app, request

from nibog.core import cache as core_cache
from nibog.core import metrics

NAMESPACE = "catalog"
_MAX_ENTRIES = 2048

VERSION_RECHECK_SECONDS = 0.25

_lock = threading.Lock()
_entries: dict[tuple[int, str], tuple[float, bytes]] = {}
# (read at, this process's bump count then, version)
_version: tuple[float, int, int] | None = None


def _ttl() -> float:
    if not current_app.config.get("CATALOG_CACHE_ENABLED", True):
        return 0.0
    return float(current_app.config.get("CATALOG_MICROCACHE_SECONDS", 1))


def _key() -> tuple[int, str] | None:
    if request.method != "GET" or "Authorization" in request.headers or _ttl() <= 0:
        return None
    return _catalog_version(), request.full_path


def _catalog_version() -> int:
    global _version
    now = time.monotonic()
    bumps = core_cache.LOCAL_BUMPS.get(NAMESPACE, 0)
    known = _version
    if known is not None and known[1] == bumps and now - known[0] < VERSION_RECHECK_SECONDS:
        return known[2]
    version = core_cache.namespace_version(NAMESPACE)
    _version = (now, bumps, version)
    return version


# The entries' clock (tests move it).
_clock = time.monotonic


def serve_cached():
    """``before_request``: the stored answer while it is fresh, else None (the view runs)."""
    key = _key()
    if key is None:
        return None
    request.environ["nibog.microcache_key"] = key
    hit = _entries.get(key)
    if hit is None or hit[0] < _clock():
        metrics.CACHE_MISS["micro"].inc()
        return None
    metrics.CACHE_HIT["micro"].inc()
    # after_request still runs for this answer: it must not store it again, or a URL asked
    # for at least once a second would never expire (and never see a change the catalog
    # version does not cover, such as registration closing at its time).
    request.environ["nibog.microcache_key"] = None
    return Response(hit[1], mimetype="application/json")


def store(response: Response) -> Response:
    """``after_request``: keep a successful JSON answer for the next second."""
    key = request.environ.get("nibog.microcache_key")
    if key is None or response.status_code != 200 or response.mimetype != "application/json":
        return response
    if response.direct_passthrough:
        return response
    expires = _clock() + _ttl()
    with _lock:
        if len(_entries) >= _MAX_ENTRIES:
            now = _clock()
            for stale in [k for k, (exp, _) in _entries.items() if exp < now] or list(_entries):
                _entries.pop(stale, None)
        _entries[key] = (expires, response.get_data())
    return response


def clear() -> None:
    global _version
    with _lock:
        _entries.clear()
        _version = None
