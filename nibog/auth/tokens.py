"""JWT pairs for the API and signed one-time links (password reset, email verification).

An access token carries the id of the refresh token it was issued with (``rjti``), so logging out
with the access token kills the whole session, not only the next 15 minutes of it.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from flask import current_app
from flask_jwt_extended import create_access_token, create_refresh_token, decode_token
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from nibog.accounts.models import User
from nibog.auth.revocation import published_version, revoke_token
from nibog.core.errors import AppError

RESET_SALT = "nibog.password-reset"
VERIFY_EMAIL_SALT = "nibog.verify-email"
RESET_MAX_AGE = 3600
VERIFY_EMAIL_MAX_AGE = 3 * 24 * 3600


def access_expires_seconds() -> int:
    value = current_app.config["JWT_ACCESS_TOKEN_EXPIRES"]
    return int(value.total_seconds()) if hasattr(value, "total_seconds") else int(value)


def _refresh_expires_seconds() -> int:
    value = current_app.config["JWT_REFRESH_TOKEN_EXPIRES"]
    return int(value.total_seconds()) if hasattr(value, "total_seconds") else int(value)


def issue_token_pair(user: User) -> dict[str, Any]:
    """The contract's token response (the caller's schema dumps ``user``).

    Sign-ins call it inside their transaction (the request boundary commits after the view),
    while the account row is locked (``service._logged_in``): the tokens carry the version
    the sign-in checked.
    """
    _catch_up_with_published_version(user)
    refresh = create_refresh_token(identity=user)
    refresh_jti = decode_token(refresh)["jti"]
    return {
        "access_token": create_access_token(identity=user, additional_claims={"rjti": refresh_jti}),
        "refresh_token": refresh,
        "token_type": "Bearer",
        "expires_in": access_expires_seconds(),
        "user": user,
    }


def _catch_up_with_published_version(user: User) -> None:
    """A bump that was published and then rolled back left Redis a version ahead of the
    account: raise the account to it (only ever more revoking), or every token issued now
    would be refused until that Redis key expires."""
    published = published_version(user.id)
    if published is not None and published > (user.token_version or 0):
        user.token_version = published


def issue_access_token(user: User, refresh_jti: str) -> dict[str, Any]:
    return {
        "access_token": create_access_token(identity=user, additional_claims={"rjti": refresh_jti}),
        "token_type": "Bearer",
        "expires_in": access_expires_seconds(),
        "user": user,
    }


def revoke_session(claims: dict[str, Any]) -> None:
    """Revoke the presented token and, for an access token, the refresh token it came with."""
    revoke_token(claims["jti"], claims["exp"])
    refresh_jti = claims.get("rjti")
    if refresh_jti:
        # The refresh token's own expiry is not in this token; its lifetime bounds it.
        revoke_token(refresh_jti, int(time.time()) + _refresh_expires_seconds())


# --- signed links -------------------------------------------------------------------------------


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def _password_fingerprint(user: User) -> str:
    # Changes whenever the password does, which makes a reset link single-use.
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def make_reset_token(user: User) -> str:
    return _serializer(RESET_SALT).dumps({
        "uid": user.id, "tv": user.token_version, "pw": _password_fingerprint(user),
        "email": user.email,
    })


def check_reset_token(token: str, load_user) -> User:
    """The user a reset token was made for, if it is authentic, fresh and not yet used."""
    data = _load(token, RESET_SALT, RESET_MAX_AGE)
    user = load_user(data.get("uid"))
    if (
        user is None
        or not user.is_active
        or data.get("tv") != user.token_version
        or data.get("pw") != _password_fingerprint(user)
        # Bound to the mailbox it was sent to: once the account's address changes, a link
        # sent to the old one (or to an address the account then swapped for someone else's)
        # can no longer set the password and prove the new address.
        or data.get("email") != user.email
    ):
        raise AppError(
            "invalid_token", "This link has already been used or is no longer valid", 400
        )
    return user


def make_verify_email_token(user: User) -> str:
    return _serializer(VERIFY_EMAIL_SALT).dumps({"uid": user.id, "email": user.email})


def check_verify_email_token(token: str, load_user) -> User:
    data = _load(token, VERIFY_EMAIL_SALT, VERIFY_EMAIL_MAX_AGE)
    user = load_user(data.get("uid"))
    # Bound to the address it was sent to: after an email change the old link is worthless;
    # once verified, a second click is refused (single use).
    if user is None or not user.is_active or user.email != data.get("email") or user.email_verified:
        raise AppError(
            "invalid_token", "This link has already been used or is no longer valid", 400
        )
    return user


def _load(token: str, salt: str, max_age: int) -> dict:
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired:
        raise AppError("token_expired", "This link has expired; ask for a new one", 400) from None
    except BadSignature:
        raise AppError("invalid_token", "This link is not valid", 400) from None
    if not isinstance(data, dict):
        raise AppError("invalid_token", "This link is not valid", 400)
    return data
