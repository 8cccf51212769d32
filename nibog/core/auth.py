"""Who is calling: JWT for the API, and the decorators every endpoint uses.

``@auth_required()`` → any logged-in, active user; ``@auth_required("admin", "staff")`` → those
roles only (401 without a valid token, 403 with the wrong role).
"""

from __future__ import annotations

from collections.abc import Callable
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
            user = current_user(optional=optional)
            if roles and (user is None or user.role not in roles):
                raise AppError("forbidden", "You are not allowed to do this", 403)
            return fn(*args, **kwargs)

        wrapper.__nibog_auth__ = (roles, optional)  # read by the OpenAPI security annotation
        return wrapper

    return decorator


def current_user(optional: bool = False):
    """The authenticated User, or None when ``optional`` and no token was sent."""
    try:
        get_jwt()
    except RuntimeError:
        if optional:
            return None
        raise AppError("unauthorized", "Authentication required", 401) from None
    user = jwt_current_user
    if user is None and not optional:
        raise AppError("unauthorized", "Authentication required", 401)
    return user._get_current_object() if user is not None else None


def register_jwt_callbacks(app: Flask) -> None:
    from flask_jwt_extended import JWTManager

    from nibog.accounts.models import User
    from nibog.auth.revocation import is_token_revoked
    from nibog.extensions import db

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
    def load_user(_header, payload):
        user = db.session.get(User, int(payload["sub"]))
        # A deactivated/deleted user, or one whose token version moved on (password change,
        # reset), is unauthenticated at once.
        if user is None or not user.is_active or payload.get("tv") != user.token_version:
            return None
        return user

    @jwt.token_in_blocklist_loader
    def revoked(_header, payload):
        return is_token_revoked(payload["jti"])

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
