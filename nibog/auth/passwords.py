"""Password hashing with argon2id (memory-hard).

Production uses argon2-cffi's defaults. Under ``app.testing`` a much cheaper parameter set is
used so the suite is not dominated by deliberate slowness; hashes carry their own parameters,
so either kind verifies anywhere.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app, has_app_context


@cache
def _hasher(cheap: bool) -> PasswordHasher:
    if cheap:
        return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    return PasswordHasher()


@cache
def _dummy_hash(cheap: bool) -> str:
    # Verified against when the account does not exist (or has no password), so an unknown
    # email costs the same time as a wrong password.
    return _hasher(cheap).hash("nibog-timing-equaliser")


def _cheap() -> bool:
    return has_app_context() and bool(current_app.testing)


def hash_password(password: str) -> str:
    return _hasher(_cheap()).hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    cheap = _cheap()
    try:
        ok = _hasher(cheap).verify(password_hash or _dummy_hash(cheap), password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    try:
        return _hasher(_cheap()).check_needs_rehash(password_hash)
    except InvalidHashError:
        return True
