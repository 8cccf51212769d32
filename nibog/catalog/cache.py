"""What the catalog caches, for how long, and how admin writes invalidate it.

- Listings (``/api/events``, featured, upcoming) carry seat counts, so they live only
  ``CATALOG_LIST_CACHE_SECONDS`` (default 3 s): a burst of identical requests hits the database once,
  and seats shown are never more than a few seconds old.
- An event's detail is cached longer (``CATALOG_DETAIL_CACHE_SECONDS``) *without* trusting its seat
  and stock numbers: every read overlays live ``seats_left`` / ``stock_left`` from the database.
- Every admin write bumps the catalog version **after its commit**, so the next read rebuilds.
  Bumping before the commit would let a concurrent reader cache pre-commit rows under the new
  version.

The booking engine never reads any of this; it locks the real rows.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app

from nibog.core import cache as core_cache

NAMESPACE = "catalog"


def list_ttl() -> float:
    return float(current_app.config.get("CATALOG_LIST_CACHE_SECONDS", 3))


def detail_ttl() -> float:
    return float(current_app.config.get("CATALOG_DETAIL_CACHE_SECONDS", 60))


def cached(name: str, params: dict[str, Any], ttl: float, producer: Callable[[], Any]) -> str:
    return core_cache.cached_json(NAMESPACE, name, params, ttl, producer)


def invalidate_catalog() -> None:
    """Forget every cached listing and detail (again) once the current transaction commits."""
    core_cache.invalidate_after_commit(NAMESPACE)


def invalidate_event(event_id: int) -> None:
    """For other features after they change an event's data (one version covers all events)."""
    invalidate_catalog()
