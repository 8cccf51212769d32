"""Who is calling: JWT for the API, and the decorators every endpoint uses.

``@auth_required()`` → any logged-in, active user; ``@auth_required("admin", "staff")`` → those
roles only (401 without a valid token, 403 with the wrong role).

Verifying a request costs no database query: the signature, the logout list and the account's
token version (nibog.auth.revocation, one Redis round trip) prove the token is live, and a role
or account-state change bumps the version, so the token's ``role`` claim can be trusted. The
account row is read only when an endpoint asks for it with ``current_user()``, which checks it
once more; ``current_user_id()`` is for hot paths that need nothing but the id.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import Flask
from flask_jwt_extended import current_user as jwt_current_user
from flask_jwt_extended import get_jwt, verify_jwt_in_request

from nibog.core.errors import AppError, error_response


def auth_required(*roles: str, optional: bool = False, refresh: bool = False) -> Callable:
    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def wrapper(*args, **kwargs):
            verify_jwt_in_request(optional=optional, refresh=refresh)
            principal = _principal(optional)
            if refresh and principal is not None:
                current_user()  # long-lived: the account row decides, not the Redis version
            if roles and (principal is None or principal.role not in roles):
                raise AppError("forbidden", "You are not allowed to do this", 403)
            return fn(*args, **kwargs)

        wrapper.__nibog_auth__ = (roles, optional)  # read by the OpenAPI security annotation
        return wrapper

    return decorator


@dataclass(frozen=True)
class Principal:
    """What a verified token says: enough to authorise without reading the account."""

    id: int
    role: str
    token_version: int


def _principal(optional: bool) -> Principal | None:
    try:
        get_jwt()
    except RuntimeError:
        if optional:
            return None
        raise AppError("unauthorized", "Authentication required", 401) from None
    principal = jwt_current_user
    if principal is None:
        if optional:
            return None
        raise AppError("unauthorized", "Authentication required", 401)
    return principal._get_current_object()


def current_user_id(optional: bool = False) -> int | None:
    """The caller's user id, without reading the account row when Redis vouches for the token."""
    from nibog.extensions import get_redis

    principal = _principal(optional)
    if principal is None:
        return None
    if get_redis() is None:
        # The in-memory version list only knows this process: ask the database.
        return current_user().id
    return principal.id


def current_user(optional: bool = False):
    """The authenticated User, or None when ``optional`` and no token was sent."""
    from nibog.accounts.models import User
    from nibog.extensions import db

    principal = _principal(optional)
    if principal is None:
        return None
    user = db.session.get(User, principal.id)
    # A deactivated/deleted user, or one whose token version moved on (password change,
    # reset), is unauthenticated at once.
    if user is None or not user.is_active or user.token_version != principal.token_version:
        raise AppError("unauthorized", "Account is not active", 401)
    return user


def register_jwt_callbacks(app: Flask) -> None:
    from flask_jwt_extended import JWTManager

    from nibog.accounts.models import User
    from nibog.auth.revocation import is_payload_revoked

    jwt: JWTManager = app.extensions["flask-jwt-extended"]

    @jwt.user_identity_loader
    def identity(user):
        return str(user.id) if isinstance(user, User) else str(user)

    @jwt.additional_claims_loader
    def claims(user):
        if isinstance(user, User):
            return {"role": user.role, "tv": user.token_version}
        return {}

    @jwt.user_lookup_loader
    def load_principal(_header, payload):
        try:
            return Principal(int(payload["sub"]), str(payload.get("role") or ""),
                             int(payload.get("tv", 0)))
        except (KeyError, TypeError, ValueError):
            return None

    @jwt.token_in_blocklist_loader
    def revoked(_header, payload):
        return is_payload_revoked(payload)

    def unauthorized(code: str, message: str):
        return error_response(401, code, message)

    jwt.unauthorized_loader(lambda reason: unauthorized("unauthorized", "Authentication required"))
    jwt.invalid_token_loader(lambda reason: unauthorized("unauthorized", "Invalid token"))
    jwt.expired_token_loader(lambda h, p: unauthorized("token_expired", "Token has expired"))
    jwt.revoked_token_loader(lambda h, p: unauthorized("unauthorized", "Token has been revoked"))
    jwt.user_lookup_error_loader(
        lambda h, p: unauthorized("unauthorized", "Account is not active")
    )
    jwt.needs_fresh_token_loader(lambda h, p: unauthorized("unauthorized", "Fresh login required"))
    jwt.token_verification_failed_loader(
        lambda h, p: unauthorized("unauthorized", "Invalid token")
    )
