"""One-time SMS codes: 6 digits, stored as an HMAC (never in clear) for 5 minutes, 5 tries,
no resend within 30 seconds, and per number at most OTP_MAX_CODES codes and OTP_MAX_FAILS
wrong guesses an hour (a new code does not reset that count, so asking for codes again and again
buys no more guesses, nor sends a number endless messages). An hour, not a day: whoever spends
a number's guesses on purpose locks its owner out of phone sign-in for an hour at most.

Redis holds the codes so every web process sees them. Without Redis (the embedded default, one
process) a small in-memory store stands in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time

import phonenumbers
from flask import current_app

from nibog.core import locking
from nibog.core.errors import AppError, ValidationFailed
from nibog.extensions import get_redis

OTP_TTL_SECONDS = 300
OTP_MAX_ATTEMPTS = 5
OTP_RESEND_SECONDS = 30
OTP_MAX_CODES = 5
OTP_MAX_FAILS = 10
OTP_LIMIT_WINDOW = 3600


def normalise_phone(raw: str, field: str = "phone") -> str:
    """E.164 (``+919876543210``). Numbers without a country code are read as Indian."""
    try:
        number = phonenumbers.parse(raw, "IN")
    except phonenumbers.NumberParseException:
        raise ValidationFailed({field: ["Not a valid phone number"]}) from None
    if not phonenumbers.is_valid_number(number):
        raise ValidationFailed({field: ["Not a valid phone number"]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def code_key(purpose: str, phone: str) -> str:
    return f"otp:{purpose}:{phone}"


def gap_key(purpose: str, phone: str) -> str:
    return f"otp-gap:{purpose}:{phone}"


def sent_key(purpose: str, phone: str) -> str:
    return f"otp-sent:{purpose}:{phone}"


def fails_key(purpose: str, phone: str) -> str:
    return f"otp-fails:{purpose}:{phone}"


def _too_many(message: str, retry_after: int) -> AppError:
    return AppError("rate_limited", message, 429, headers={"Retry-After": str(retry_after)})


def _refuse_after_too_many_fails(store, purpose: str, phone: str) -> None:
    """429 while the number's wrong guesses this hour are used up (no code sent, none checked)."""
    fails, fails_ttl = store.count(fails_key(purpose, phone))
    if fails >= OTP_MAX_FAILS:
        store.delete(code_key(purpose, phone))
        raise _too_many("Too many wrong codes for this number; try again within the hour",
                        fails_ttl)


def _digest(purpose: str, phone: str, code: str) -> str:
    # Keyed with the app secret: a leaked Redis dump does not give away 6-digit codes, which a
    # plain hash would (a million guesses).
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{purpose}:{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_code(purpose: str, phone: str) -> str:
    """Create and store a new code; 429 if the previous one was sent less than 30 s ago."""
    store = _store()
    _refuse_after_too_many_fails(store, purpose, phone)
    wait = store.claim_gap(gap_key(purpose, phone), OTP_RESEND_SECONDS)
    if wait:
        raise AppError(
            "rate_limited",
            f"Please wait {wait} seconds before asking for another code",
            429,
            headers={"Retry-After": str(wait)},
        )
    sent, sent_ttl = store.add(sent_key(purpose, phone), OTP_LIMIT_WINDOW)
    if sent > OTP_MAX_CODES:
        raise _too_many("Too many codes sent to this number; try again within the hour",
                        sent_ttl)
    code = f"{secrets.randbelow(10**6):06d}"
    store.put_code(code_key(purpose, phone), _digest(purpose, phone, code), OTP_TTL_SECONDS)
    return code


def check_code(purpose: str, phone: str, code: str) -> None:
    """Consume the code if it matches; otherwise count the attempt. Raises 401 on failure."""
    store = _store()
    key = code_key(purpose, phone)
    _refuse_after_too_many_fails(store, purpose, phone)
    # The attempt is counted before comparing, atomically, so parallel guesses cannot exceed
    # the limit.
    found = store.count_attempt(key)
    if found is None:
        raise AppError("otp_expired", "No valid code; ask for a new one", 401)
    digest, attempts = found
    if attempts > OTP_MAX_ATTEMPTS:
        store.delete(key)
        raise AppError("otp_attempts_exceeded", "Too many wrong codes; ask for a new one", 401)
    if not hmac.compare_digest(digest, _digest(purpose, phone, code or "")):
        store.add(fails_key(purpose, phone), OTP_LIMIT_WINDOW)
        if attempts >= OTP_MAX_ATTEMPTS:
            store.delete(key)
            raise AppError("otp_attempts_exceeded", "Too many wrong codes; ask for a new one", 401)
        raise AppError(
            "invalid_otp",
            "The code is not correct",
            401,
            {"attempts_left": OTP_MAX_ATTEMPTS - attempts},
        )
    locking.pause("otp_checked")
    # Single use, even for two requests with the code at once: both matched, but only the one
    # whose delete removed the code signs in.
    if not store.delete(key) and locking.guards.otp_consume_once:
        raise AppError("otp_expired", "No valid code; ask for a new one", 401)


# --- stores -------------------------------------------------------------------------------------


class RedisOtpStore:
    def __init__(self, conn):
        self.conn = conn

    def claim_gap(self, key: str, seconds: int) -> int:
        if self.conn.set(key, "1", nx=True, ex=seconds):
            return 0
        return max(1, int(self.conn.ttl(key)))

    def put_code(self, key: str, digest: str, ttl: int) -> None:
        pipe = self.conn.pipeline()
        pipe.delete(key)
        pipe.hset(key, mapping={"digest": digest, "attempts": 0})
        pipe.expire(key, ttl)
        pipe.execute()

    def count_attempt(self, key: str) -> tuple[str, int] | None:
        # HINCRBY on a missing key would create it without a TTL, so check existence in the
        # same transaction and clean up.
        pipe = self.conn.pipeline()
        pipe.exists(key)
        pipe.hincrby(key, "attempts", 1)
        pipe.hget(key, "digest")
        exists, attempts, digest = pipe.execute()
        if not exists or digest is None:
            self.conn.delete(key)
            return None
        return digest.decode(), int(attempts)

    def add(self, key: str, window: int) -> tuple[int, int]:
        """Count one more in a window that starts with the first: (count, seconds left)."""
        pipe = self.conn.pipeline()
        pipe.set(key, 0, ex=window, nx=True)  # the window starts with the first
        pipe.incr(key)
        pipe.ttl(key)
        _started, count, ttl = pipe.execute()
        return int(count), max(1, int(ttl))

    def count(self, key: str) -> tuple[int, int]:
        pipe = self.conn.pipeline()
        pipe.get(key)
        pipe.ttl(key)
        value, ttl = pipe.execute()
        return int(value or 0), max(1, int(ttl))

    def delete(self, key: str) -> bool:
        """True if this call removed the key."""
        return bool(self.conn.delete(key))


class MemoryOtpStore:
    def __init__(self):
        self._lock = threading.Lock()
        self._data: dict[str, tuple[float, dict]] = {}

    def _get(self, key: str) -> dict | None:
        entry = self._data.get(key)
        if entry is None or entry[0] <= time.monotonic():
            self._data.pop(key, None)
            return None
        return entry[1]

    def claim_gap(self, key: str, seconds: int) -> int:
        with self._lock:
            if self._get(key) is not None:
                return max(1, int(self._data[key][0] - time.monotonic()))
            self._data[key] = (time.monotonic() + seconds, {})
            return 0

    def put_code(self, key: str, digest: str, ttl: int) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, {"digest": digest, "attempts": 0})

    def count_attempt(self, key: str) -> tuple[str, int] | None:
        with self._lock:
            value = self._get(key)
            if value is None:
                return None
            value["attempts"] += 1
            return value["digest"], value["attempts"]

    def add(self, key: str, window: int) -> tuple[int, int]:
        with self._lock:
            value = self._get(key)
            if value is None:
                value = {"count": 0}
                self._data[key] = (time.monotonic() + window, value)
            value["count"] += 1
            return value["count"], max(1, int(self._data[key][0] - time.monotonic()))

    def count(self, key: str) -> tuple[int, int]:
        with self._lock:
            value = self._get(key)
            if value is None:
                return 0, 1
            return value["count"], max(1, int(self._data[key][0] - time.monotonic()))

    def delete(self, key: str) -> bool:
        """True if this call removed a live key."""
        with self._lock:
            return self._get(key) is not None and self._data.pop(key, None) is not None


    def purge(self) -> int:
        """Drop expired entries (a Redis store expires its keys by itself)."""
        now = time.monotonic()
        with self._lock:
            stale = [key for key, (expires, _) in self._data.items() if expires <= now]
            for key in stale:
                del self._data[key]
        return len(stale)


_memory_store = MemoryOtpStore()


def purge_expired() -> int:
    """Housekeeping (``nibog.core.housekeeping.purge_expired``): expired codes and counters of
    the embedded in-memory store."""
    return _memory_store.purge()


def _store():
    conn = get_redis()
    return RedisOtpStore(conn) if conn is not None else _memory_store
