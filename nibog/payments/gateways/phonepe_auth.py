"""PhonePe v2 OAuth access token: fetched with ``client_credentials``, shared by every worker.

PhonePe answers ``{"access_token", "token_type": "O-Bearer", "issued_at", "expires_at"}`` and asks
merchants to reuse the token until ``expires_at``. The token is kept in Redis (one per client id
and environment) until ``REFRESH_MARGIN_SECONDS`` before it expires; a refresh happens under a
Redis lock, so a burst of requests that all find it missing or stale fetches it once, not once
per request. Without Redis (the embedded default) a process-local cache and lock do the same.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import redis as redis_lib

from nibog.payments.gateways.base import GatewayError

# Refresh this long before expires_at: a request signed with a token that expires in flight
# would be refused, and the clocks of PhonePe and this server are not the same clock.
REFRESH_MARGIN_SECONDS = 120
LOCK_TIMEOUT_SECONDS = 30  # the lock frees itself if its holder dies mid-fetch
LOCK_WAIT_SECONDS = 20

_local_lock = threading.Lock()
_local: dict[str, AccessToken] = {}


@dataclass(frozen=True)
class AccessToken:
    value: str
    token_type: str
    expires_at: float

    def fresh(self, now: float) -> bool:
        return self.expires_at - REFRESH_MARGIN_SECONDS > now

    @property
    def header(self) -> str:
        return f"{self.token_type or 'O-Bearer'} {self.value}"

    def dumps(self) -> str:
        return json.dumps({"v": self.value, "t": self.token_type, "e": self.expires_at})

    @classmethod
    def loads(cls, raw: bytes | str | None) -> AccessToken | None:
        if not raw:
            return None
        try:
            data = json.loads(raw)
            return cls(str(data["v"]), str(data["t"]), float(data["e"]))
        except (ValueError, KeyError, TypeError):
            return None


class TokenCache:
    """``get(fetch)`` returns a fresh token, calling ``fetch`` only when none is cached."""

    def __init__(self, key: str, redis: redis_lib.Redis | None, clock: Callable[[], float] = time.time):
        self.key = f"nibog:phonepe:token:{key}"
        self.redis = redis
        self.clock = clock

    def _read(self) -> AccessToken | None:
        if self.redis is None:
            return _local.get(self.key)
        return AccessToken.loads(self.redis.get(self.key))

    def _write(self, token: AccessToken) -> None:
        ttl = int(token.expires_at - REFRESH_MARGIN_SECONDS - self.clock())
        if ttl <= 0:
            return  # already stale: cache nothing rather than a token no one may use
        if self.redis is None:
            _local[self.key] = token
        else:
            self.redis.set(self.key, token.dumps(), ex=ttl)

    def refresh_lock(self) -> AbstractContextManager:
        """The guard that makes one caller fetch while the others wait (tests replace it)."""
        if self.redis is None:
            return _local_lock
        return self.redis.lock(
            self.key + ":lock", timeout=LOCK_TIMEOUT_SECONDS, blocking_timeout=LOCK_WAIT_SECONDS
        )

    def get(self, fetch: Callable[[], AccessToken]) -> AccessToken:
        try:
            token = self._read()
            if token is not None and token.fresh(self.clock()):
                return token
            with self.refresh_lock():
                # Whoever held the lock before us may have fetched it already.
                token = self._read()
                if token is not None and token.fresh(self.clock()):
                    return token
                token = fetch()
                self._write(token)
                return token
        except redis_lib.exceptions.LockError as exc:
            raise GatewayError("phonepe token refresh is taking too long") from exc
        except redis_lib.RedisError:
            # Redis down: PhonePe still works, each call fetching its own token.
            return fetch()

    def forget(self, token: AccessToken) -> None:
        """Drop a token PhonePe refused (401), unless another worker already replaced it."""
        try:
            if self._read() == token:
                if self.redis is None:
                    _local.pop(self.key, None)
                else:
                    self.redis.delete(self.key)
        except redis_lib.RedisError:
            pass
