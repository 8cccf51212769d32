"""Periodic clean-up of rows that have outlived their purpose."""

from __future__ import annotations

import importlib
import logging

from sqlalchemy import delete

from nibog.booking.models import IdempotencyKey
from nibog.core.timeutil import utcnow
from nibog.extensions import db

log = logging.getLogger(__name__)


def purge_expired() -> dict[str, int]:
    """Delete expired idempotency keys; OTPs live in Redis with a TTL, and the auth module may
    expose ``purge_expired`` for its in-memory fallback."""
    result = db.session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at < utcnow()))
    counts = {"idempotency_keys": result.rowcount or 0}
    try:
        otp = importlib.import_module("nibog.auth.otp")
    except ImportError:
        otp = None
    purge = getattr(otp, "purge_expired", None)
    if callable(purge):
        counts["otps"] = int(purge() or 0)
    log.info("purged expired rows: %s", counts)
    return counts
