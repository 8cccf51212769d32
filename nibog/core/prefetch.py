"""Redis values a request will need, read in a round trip it makes anyway.

Every authenticated API request reads its token's revocation state from Redis before the view
runs. An endpoint that will read other keys early on (``POST /api/bookings``: the slots'
full-marks) names them in ``auth_required(also_read=...)``, and they ride along in that same
``MGET``. The view's code asks ``take`` first and falls back to its own read, so it is correct
with or without the prefetch. Each value is handed out once: a second read in the same request
goes to Redis and sees anything written in between.
"""

from __future__ import annotations

from flask import g


def keep(values: dict[str, bytes | None]) -> None:
    g._redis_prefetch = values


def kept() -> dict[str, bytes | None]:
    """A copy of what is still kept (for handing to a later reader of the same request)."""
    return dict(g.get("_redis_prefetch") or {})


def take(keys: list[str]) -> list[bytes | None] | None:
    """The values of ``keys`` if all were prefetched in this request (then forgotten), else None."""
    values = g.get("_redis_prefetch")
    if not values or any(key not in values for key in keys):
        return None
    return [values.pop(key) for key in keys]
