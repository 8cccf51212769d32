"""Password hashing with argon2id (memory-hard).

Production uses OWASP's second recommended argon2id set (Password Storage Cheat Sheet): 19 MiB,
two passes, one lane. argon2-cffi's default (64 MiB, three passes, four lanes) cost 175 ms of CPU
per sign-in on a 2-core web host - both cores at once - so a sale's opening minute of sign-ins
starved every other request (docs/performance.md); this set costs ~22 ms on one core, and OWASP
lists it as equivalent protection. A hash with other parameters is replaced at the next sign-in
(``needs_rehash``). Under ``app.testing`` a much cheaper set is used so the suite is not
dominated by deliberate slowness; hashes carry their own parameters, so any kind verifies
anywhere.
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
    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


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
