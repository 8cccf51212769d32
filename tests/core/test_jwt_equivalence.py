"""The request path's one-pass token check (``core.auth.verify_request_token`` over
``core.jwt_manager.decode_once``) reads private internals of flask-jwt-extended and PyJWT. This
compares its verdict with the library's public ``verify_jwt_in_request`` - run with the library's
own decoder, not ours - over a table of tokens, so an upgrade that changes either fails here.
"""

from __future__ import annotations

import base64
import json
import warnings
from datetime import timedelta

import jwt as pyjwt
import pytest
from flask_jwt_extended import JWTManager as StockJWTManager
from flask_jwt_extended import (
    create_access_token,
    create_refresh_token,
    decode_token,
    get_jwt,
    verify_jwt_in_request,
)
from jwt.warnings import InsecureKeyLengthWarning

from nibog.auth.revocation import revoke_token
from nibog.core.auth import current_user_id, verify_request_token
from nibog.core.jwt_manager import JWTManager as FastJWTManager
from tests.factories import UserFactory


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    return ".".join([header, _b64(claims), signature])


def _token_table(app) -> dict[str, tuple[str | None, bool]]:
    """name -> (Authorization header value, refresh?)."""
    user = UserFactory()
    secret = app.config["JWT_SECRET_KEY"]
    access = create_access_token(identity=user)
    refresh = create_refresh_token(identity=user)
    claims = decode_token(access)
    revoked = create_access_token(identity=user)
    revoke_token(decode_token(revoked)["jti"], decode_token(revoked)["exp"])
    expired = create_access_token(identity=user, expires_delta=timedelta(seconds=-120))
    with warnings.catch_warnings():  # the dev secret is short for HS512: irrelevant here
        warnings.simplefilter("ignore", InsecureKeyLengthWarning)
        other_alg = pyjwt.encode(claims, secret, algorithm="HS512")
    unsigned = pyjwt.encode(claims, None, algorithm="none")
    wrong_key = pyjwt.encode(claims, "someone-elses-secret-of-a-proper-length-0123456789", algorithm="HS256")
    no_subject = pyjwt.encode({k: v for k, v in claims.items() if k != "sub"}, secret,
                              algorithm="HS256")
    future = pyjwt.encode({**claims, "nbf": claims["iat"] + 3600}, secret, algorithm="HS256")
    return {
        "valid access": (f"Bearer {access}", False),
        "valid refresh": (f"Bearer {refresh}", True),
        "expired": (f"Bearer {expired}", False),
        "wrong algorithm (HS512)": (f"Bearer {other_alg}", False),
        "alg none": (f"Bearer {unsigned}", False),
        "revoked": (f"Bearer {revoked}", False),
        "refresh used as access": (f"Bearer {refresh}", False),
        "access used as refresh": (f"Bearer {access}", True),
        "tampered claims": (f"Bearer {_tamper(access)}", False),
        "signed with another key": (f"Bearer {wrong_key}", False),
        "no subject": (f"Bearer {no_subject}", False),
        "not yet valid": (f"Bearer {future}", False),
        "garbage": ("Bearer not.a.jwt", False),
        "no bearer prefix": (access, False),
        "no header": (None, False),
    }


def _verdict(app, header: str | None, refresh: bool, check) -> tuple:
    headers = {"Authorization": header} if header is not None else {}
    with app.test_request_context("/api/users/me", headers=headers):
        try:
            check(refresh)
        except Exception as exc:  # noqa: BLE001 - the exception type is the verdict
            return ("refused", type(exc).__name__)
        jwt_claims = get_jwt()
        return ("accepted", jwt_claims["sub"], jwt_claims["type"], jwt_claims["jti"],
                current_user_id())


def _ours(refresh: bool) -> None:
    verify_request_token(refresh=refresh)


def _library(refresh: bool) -> None:
    verify_jwt_in_request(refresh=refresh)


def test_the_fast_path_agrees_with_verify_jwt_in_request(app, monkeypatch):
    table = _token_table(app)
    ours = {name: _verdict(app, h, r, _ours) for name, (h, r) in table.items()}
    # The library's own decoder, not the fast one this app installs in its manager.
    monkeypatch.setattr(FastJWTManager, "_decode_jwt_from_config",
                        StockJWTManager._decode_jwt_from_config)
    library = {name: _verdict(app, h, r, _library) for name, (h, r) in table.items()}

    assert ours == library
    # And the table means something: each kind of bad token is refused, the good ones pass.
    accepted = {name for name, verdict in ours.items() if verdict[0] == "accepted"}
    assert accepted == {"valid access", "valid refresh"}
    assert ours["expired"] == ("refused", "ExpiredSignatureError")
    assert ours["revoked"] == ("refused", "RevokedTokenError")
    assert ours["refresh used as access"] == ("refused", "WrongTokenError")


@pytest.mark.parametrize("leeway", [0, 30])
def test_leeway_is_applied_the_same_way(app, monkeypatch, leeway):
    monkeypatch.setitem(app.config, "JWT_DECODE_LEEWAY", leeway)
    user = UserFactory()
    token = create_access_token(identity=user, expires_delta=timedelta(seconds=-10))
    header = f"Bearer {token}"
    ours = _verdict(app, header, False, _ours)
    monkeypatch.setattr(FastJWTManager, "_decode_jwt_from_config",
                        StockJWTManager._decode_jwt_from_config)
    assert ours == _verdict(app, header, False, _library)
    assert ours[0] == ("accepted" if leeway else "refused")
