"""A small read-through cache: Redis when configured, a per-process memory dict otherwise.

Values are JSON strings. Invalidation is by *namespace version*: every key embeds the current
version number of its namespace, and bumping the version makes every older key unreachable at
once (they then expire by TTL). The cache is an optimisation only: when Redis fails, callers
compute the value as if nothing were cached, and a request never fails because of the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from nibog.core import metrics
from nibog.extensions import db, get_redis

log = logging.getLogger(__name__)

_PREFIX = "nibog:cache:"
_MEMORY_KEY = "nibog_memory_cache"
_MEMORY_MAX_ENTRIES = 2000


class _MemoryStore:
    """Fallback for the embedded default (no REDIS_URL): one process, so one dict is enough."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[float | None, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        with self._lock:
            entry = self._data.get(key)
            if entry is None:
                return None
            expires, value = entry
            if expires is not None and expires < time.monotonic():
                del self._data[key]
                return None
            return value

    def set(self, key: str, value: str, ttl: int | float | None) -> None:
        with self._lock:
            if len(self._data) >= _MEMORY_MAX_ENTRIES:
                self._data.clear()  # crude, but bounded memory matters more than hit rate here
            expires = time.monotonic() + ttl if ttl else None
            self._data[key] = (expires, value)

    def incr(self, key: str) -> int:
        with self._lock:
            _, value = self._data.get(key, (None, "0"))
            new = int(value) + 1
            self._data[key] = (None, str(new))
            return new

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


def _memory() -> _MemoryStore:
    store = current_app.extensions.get(_MEMORY_KEY)
    if store is None:
        store = current_app.extensions.setdefault(_MEMORY_KEY, _MemoryStore())
    return store


def clear_memory() -> None:
    if has_app_context():
        _memory().clear()


def raw_get(key: str) -> str | None:
    conn = get_redis()
    if conn is None:
        return _memory().get(_PREFIX + key)
    try:
        value = conn.get(_PREFIX + key)
    except Exception:  # noqa: BLE001 - the cache is optional
        log.warning("cache read failed", exc_info=True)
        return None
    return value.decode() if isinstance(value, bytes) else value


def raw_set(key: str, value: str, ttl: int | float) -> None:
    conn = get_redis()
    if conn is None:
        _memory().set(_PREFIX + key, value, ttl)
        return
    try:
        conn.set(_PREFIX + key, value, px=max(1, int(ttl * 1000)))
    except Exception:  # noqa: BLE001
        log.warning("cache write failed", exc_info=True)


def namespace_version(namespace: str) -> int:
    raw = raw_get(f"v:{namespace}")
    return int(raw) if raw else 0


# Bumps made by this process, per namespace: lets a process-local copy of a version (see
# nibog.catalog.microcache) notice this process's own writes at once.
LOCAL_BUMPS: dict[str, int] = {}


def bump_namespace(namespace: str) -> None:
    """Make every cached value of ``namespace`` unreachable."""
    if not has_app_context():
        return
    LOCAL_BUMPS[namespace] = LOCAL_BUMPS.get(namespace, 0) + 1
    key = f"{_PREFIX}v:{namespace}"
    conn = get_redis()
    if conn is None:
        _memory().incr(key)
        return
    try:
        conn.incr(key)
    except Exception:  # noqa: BLE001
        # A lost bump leaves values stale until their TTL; log loudly so ops notice.
        log.error("cache invalidation failed", exc_info=True, extra={"namespace": namespace})


_PENDING = "nibog_cache_pending_bumps"


def invalidate_after_commit(namespace: str) -> None:
    """Bump ``namespace`` now and again once the current transaction commits.

    The second bump is the one that matters: a reader that rebuilt a value between the first
    bump and the commit read pre-commit rows, and must not keep serving them.
    """
    bump_namespace(namespace)
    if has_app_context():
        db.session.info.setdefault(_PENDING, set()).add(namespace)


@sa_event.listens_for(Session, "after_commit")
def _bump_after_commit(session: Session) -> None:
    for namespace in session.info.pop(_PENDING, ()):
        bump_namespace(namespace)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_on_rollback(session: Session, previous_transaction) -> None:
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)


def params_digest(params: dict[str, Any]) -> str:
    canonical = json.dumps(params, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha1(canonical.encode()).hexdigest()[:20]  # noqa: S324 - a key, not a secret


def cached_json(
    namespace: str, name: str, params: dict[str, Any], ttl: int | float, producer: Callable[[], Any]
) -> str:
    """The JSON text of ``producer()``, served from the cache while fresh.

    The key holds the namespace's version, so a bump (explicit invalidation) is seen by the very
    next read, and the TTL bounds how stale anything else can be.
    """
    if ttl <= 0 or not current_app.config.get("CATALOG_CACHE_ENABLED", True):
        return json.dumps(producer(), separators=(",", ":"))
    key = f"{namespace}:{namespace_version(namespace)}:{name}:{params_digest(params)}"
    hit = raw_get(key)
    if hit is not None:
        metrics.CACHE_HIT["redis"].inc()
        return hit
    metrics.CACHE_MISS["redis"].inc()
    text = json.dumps(producer(), separators=(",", ":"))
    raw_set(key, text, ttl)
    return text
