"""Which access tokens are dead before they expire, answered without touching PostgreSQL.

Two lists, both in Redis and both bounded by the access token's lifetime:

* ``revoked:{jti}``: one token, ended by logout (a refresh token's entry also ends every
  access token issued with it: their ``rjti`` claim);
* ``token-version:{user_id}``: the account's current token version. Every token carries the
  version it was issued under (claim ``tv``); a password change or reset, a role change, a
  deactivation or a deletion bumps ``users.token_version``, and the flush that writes the bump
  also writes it here, so every older token is refused on its next request.

The version is written inside the transaction that bumps it (before COMMIT): if Redis cannot take
it, the bump fails with it, so a committed revocation is always enforced. A transaction that rolls
back after the write leaves a version one too high, which logs that user out once - the safe side:
their next sign-in raises the account's version to it (``tokens.issue_token_pair``), so the new
tokens are not refused for the rest of that key's life.
The key lives as long as an access token, so any token it has to stop has expired by the time it
goes. Refresh tokens live longer and are checked against the database row when they are used.

Without Redis (embedded default) both lists live in process memory, which is enough for one dev
server, and ``current_user()`` checks the database row as well.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from flask import current_app
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from nibog.accounts.models import User
from nibog.core import prefetch
from nibog.extensions import get_redis

_memory: dict[str, float] = {}
_memory_versions: dict[str, int] = {}  # keyed like the token's ``sub`` claim

# Raise the stored version, never lower it: two bumps committing in either order leave the
# higher one, since versions only grow.
_RAISE_VERSION = """
local old = redis.call('GET', KEYS[1])
if (not old) or tonumber(old) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
  redis.call('EXPIRE', KEYS[1], ARGV[2])
end
return 1
"""


def _version_key(user_id) -> str:
    return f"token-version:{user_id}"


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


def is_payload_revoked(payload: dict, also_read: Sequence[str] = ()) -> bool:
    """Logged out, or issued under an older token version: one Redis round trip.

    ``also_read``: keys the request will need next, fetched in the same ``MGET`` and kept for
    it (nibog.core.prefetch).
    """
    jti = payload.get("jti")
    user_id = payload.get("sub")
    token_version = payload.get("tv", 0)
    # An access token names the refresh token of its sign-in (``rjti``); logging out revokes
    # that one too, which ends every access token of the session, not only the one presented.
    session_jti = payload.get("rjti") or jti
    conn = get_redis()
    if conn is None:
        current = _memory_versions.get(str(user_id), 0)
        return is_token_revoked(jti) or is_token_revoked(session_jti) or token_version < current
    revoked, session_revoked, current, *extra = conn.mget(
        f"revoked:{jti}", f"revoked:{session_jti}", _version_key(user_id), *also_read
    )
    if also_read:
        prefetch.keep(dict(zip(also_read, extra, strict=True)))
    return (
        revoked is not None
        or session_revoked is not None
        or (current is not None and token_version < int(current))
    )


def record_token_version(user_id: int, token_version: int) -> None:
    conn = get_redis()
    if conn is None:
        key = str(user_id)
        _memory_versions[key] = max(_memory_versions.get(key, 0), token_version)
        return
    ttl = int(_access_lifetime_seconds()) + 60
    conn.eval(_RAISE_VERSION, 1, _version_key(user_id), token_version, ttl)


def published_version(user_id: int) -> int | None:
    """The token version Redis enforces for the user (None: nothing recorded, or no Redis)."""
    conn = get_redis()
    if conn is None:
        return _memory_versions.get(str(user_id))
    value = conn.get(_version_key(user_id))
    return int(value) if value is not None else None


def _access_lifetime_seconds() -> float:
    lifetime = current_app.config.get("JWT_ACCESS_TOKEN_EXPIRES", 15 * 60)
    return lifetime.total_seconds() if hasattr(lifetime, "total_seconds") else float(lifetime)


# Changes that must end every token the account holds. Bumping here, not in each service, means
# no path (admin API, CLI, a shell) can change them and leave old tokens - or their role claim -
# alive.
_REVOKING_CHANGES = ("role", "is_active_account", "deleted_at")


@event.listens_for(Session, "before_flush")
def _bump_token_version_on_account_changes(session, _flush_context, _instances) -> None:
    for obj in session.dirty:
        if not isinstance(obj, User):
            continue
        attrs = inspect(obj).attrs
        if attrs.token_version.history.added:
            continue
        if any(attrs[name].history.has_changes() for name in _REVOKING_CHANGES):
            obj.token_version = (obj.token_version or 0) + 1


@event.listens_for(Session, "after_flush")
def _publish_token_version_bumps(session, _flush_context) -> None:
    for obj in session.dirty:
        if isinstance(obj, User) and inspect(obj).attrs.token_version.history.added:
            record_token_version(obj.id, obj.token_version)
