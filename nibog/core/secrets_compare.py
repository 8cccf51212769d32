"""Comparing a secret a caller sent with the one we expect, without timing leaks."""

from __future__ import annotations

import hmac


def constant_time_equal(a: str | None, b: str | None) -> bool:
    """False for a missing side; compared as UTF-8 bytes, since a header, a scanned code or a
    typed address may carry anything and ``hmac.compare_digest`` refuses non-ASCII str."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode(), b.encode())
