"""Revoked token ids, kept in Redis until the token would have expired anyway.

Without Redis (embedded default) they live in process memory, which is enough for one dev server.
"""

from __future__ import annotations

import time

from nibog.extensions import get_redis

_memory: dict[str, float] = {}


def revoke_token(jti: str, expires_at: int) -> None:
    ttl = max(1, int(expires_at - time.time()))
    conn = get_redis()
    if conn is not None:
        conn.set(f"revoked:{jti}", "1", ex=ttl)
    else:
        _memory[jti] = time.time() + ttl


def is_token_revoked(jti: str) -> bool:
    conn = get_redis()
    if conn is not None:
        return bool(conn.exists(f"revoked:{jti}"))
    expiry = _memory.get(jti)
    return expiry is not None and expiry > time.time()
