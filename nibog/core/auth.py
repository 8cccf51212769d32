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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import wraps

from flask import Flask, g, request
from flask_jwt_extended import current_user as jwt_current_user
from flask_jwt_extended import get_jwt
from flask_jwt_extended.exceptions import (
    NoAuthorizationError,
    RevokedTokenError,
    UserLookupError,
)
from flask_jwt_extended.internal_utils import custom_verification_for_token, verify_token_type
from flask_jwt_extended.view_decorators import _decode_jwt_from_headers

from nibog.accounts.models import User
from nibog.auth.revocation import is_payload_revoked
from nibog.core import prefetch
from nibog.core.errors import AppError, error_response
from nibog.core.jwt_manager import decode_once
from nibog.extensions import db, get_redis


def auth_required(
    *roles: str, optional: bool = False, refresh: bool = False,
    also_read: Callable[[], list[str]] | None = None,
) -> Callable:
    """``also_read``: Redis keys the view will read first, fetched with the token's revocation
    state in one round trip (nibog.core.prefetch)."""

    def decorator(fn: Callable) -> Callable:
        @wraps(fn)
        def wrapper(*args, **kwargs):
            verify_request_token(optional=optional, refresh=refresh, also_read=also_read)
            principal = _principal(optional)
            if refresh and principal is not None:
                current_user()  # long-lived: the account row decides, not the Redis version
            if roles and (principal is None or principal.role not in roles):
                raise AppError("forbidden", "You are not allowed to do this", 403)
            return fn(*args, **kwargs)

        wrapper.__nibog_auth__ = (roles, optional)  # read by the OpenAPI security annotation
        return wrapper

    return decorator


def verify_request_token(
    *, optional: bool = False, refresh: bool = False,
    also_read: Callable[[], list[str]] | None = None,
) -> None:
    """flask-jwt-extended's ``verify_jwt_in_request`` for a bearer header, in one pass.

    The same checks in the same order, raising the same exceptions (so the same 401 answers):
    header, signature and claims (``jwt_manager.decode_once``), token type, revocation, the
    principal. It leaves the request state where ``get_jwt()`` and ``current_user`` read it.
    The stock function spent most of its time finding, parsing and re-parsing the token, a
    large part of a burst's cheapest answer (docs/performance.md).
    """
    try:
        encoded, _csrf = _decode_jwt_from_headers()
    except NoAuthorizationError:
        if not optional:
            raise
        _keep_verified(None, {}, {}, None)
        return
    keys = also_read() if also_read is not None else ()
    checked = _checked_in_front(encoded, refresh, keys)
    if checked is not None:
        header, claims, principal = checked
    else:
        header, claims, principal = verify_token(encoded, refresh=refresh, also_read=keys)
    _keep_verified(principal, header, claims, "headers")


def verify_token(
    encoded: str, *, refresh: bool = False, also_read: Sequence[str] = ()
) -> tuple[dict, dict, Principal]:
    """(header, claims, principal) of a live token, or the exception a 401 is made from.

    Signature and claims (``jwt_manager.decode_once``), token type, revocation (with the
    ``also_read`` keys prefetched in the same round trip), the principal.
    """
    header, claims = decode_once(encoded)
    verify_token_type(claims, refresh)
    if is_payload_revoked(claims, also_read):
        raise RevokedTokenError(header, claims)
    custom_verification_for_token(header, claims)
    principal = principal_from_claims(claims)
    if principal is None:
        raise UserLookupError(f"no principal in token for {claims.get('sub')!r}", header, claims)
    return header, claims, principal


# Where a WSGI layer in front of Flask (booking.fastpath.gate) leaves the token check it has
# just run on this request, so the view does not decode the token and ask Redis a second time.
# Only server code can put a key without the HTTP_ prefix into the WSGI environ.
_CHECKED_KEY = "nibog.token_checked"


@dataclass(frozen=True)
class _CheckedInFront:
    token: str
    header: dict
    claims: dict
    principal: Principal
    prefetched: dict


def remember_checked_token(
    environ: dict, token: str, checked: tuple[dict, dict, Principal], prefetched: dict
) -> None:
    """Hand ``verify_token``'s result for ``token`` (and the values its round trip read, a dict
    of the caller's own such as ``prefetch.kept()``) to the view of the same request."""
    environ[_CHECKED_KEY] = _CheckedInFront(token, *checked, prefetched)


def _checked_in_front(encoded: str, refresh: bool, keys: Sequence[str]):
    """The front layer's check when it covers exactly this request's needs, else None."""
    checked = request.environ.pop(_CHECKED_KEY, None)
    if checked is None or refresh or checked.token != encoded:
        return None
    if any(key not in checked.prefetched for key in keys):
        return None
    if keys:
        prefetch.keep({key: checked.prefetched[key] for key in keys})
    return checked.header, checked.claims, checked.principal


def _keep_verified(principal, header: dict, claims: dict, location: str | None) -> None:
    # Where flask-jwt-extended 4.7 keeps a verified token (get_jwt, get_jwt_header, current_user).
    g._jwt_extended_jwt_user = {"loaded_user": principal}
    g._jwt_extended_jwt_header = header
    g._jwt_extended_jwt = claims
    g._jwt_extended_jwt_location = location


@dataclass(frozen=True)
class Principal:
    """What a verified token says: enough to authorise without reading the account."""

    id: int
    role: str
    token_version: int


def principal_from_claims(claims: dict) -> Principal | None:
    try:
        return Principal(int(claims["sub"]), str(claims.get("role") or ""), int(claims.get("tv", 0)))
    except (KeyError, TypeError, ValueError):
        return None


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
    principal = _principal(optional)
    if principal is None:
        return None
    if get_redis() is None:
        # The in-memory version list only knows this process: ask the database.
        return current_user().id
    return principal.id


def current_user(optional: bool = False):
    """The authenticated User, or None when ``optional`` and no token was sent."""
    principal = _principal(optional)
    if principal is None:
        return None
    # Every signed-in request reads its user: planned once per connection (core/prepared.py).
    user = db.session.get(User, principal.id, execution_options={"prepare": True})
    # A deactivated/deleted user, or one whose token version moved on (password change,
    # reset), is unauthenticated at once.
    if user is None or not user.is_active or user.token_version != principal.token_version:
        raise AppError("unauthorized", "Account is not active", 401)
    return user


def register_jwt_callbacks(app: Flask) -> None:
    from flask_jwt_extended import JWTManager


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
        return principal_from_claims(payload)

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
