"""flask-jwt-extended's manager, decoding each token once instead of three times.

The stock manager parses a token's claims and header without verifying them (to pick a key per
token, which we never do), then decodes it again with verification. PyJWT checks every base64
character in Python, so those extra passes were a measurable share of a booking request in a
sales burst (bench/profile_booking.py). Same checks, same errors; one key for every token.
Written against flask-jwt-extended 4.7 (pinned), whose private hook this overrides.
"""

from __future__ import annotations

import jwt as pyjwt
from flask_jwt_extended import JWTManager as _JWTManager
from flask_jwt_extended.config import config
from flask_jwt_extended.tokens import _decode_jwt
from jwt import ExpiredSignatureError


class JWTManager(_JWTManager):
    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None,
                                allow_expired: bool = False) -> dict:
        kwargs = {
            "algorithms": config.decode_algorithms,
            "audience": config.decode_audience,
            "csrf_value": csrf_value,
            "encoded_token": encoded_token,
            "identity_claim_key": config.identity_claim_key,
            "issuer": config.decode_issuer,
            "leeway": config.leeway,
            "secret": config.decode_key,
            "verify_aud": config.decode_audience is not None,
            "verify_sub": config.verify_sub,
        }
        try:
            return _decode_jwt(**kwargs, allow_expired=allow_expired)
        except ExpiredSignatureError as e:
            # The expired-token callback receives header and claims, as with the stock manager.
            e.jwt_header = pyjwt.get_unverified_header(encoded_token)  # type: ignore[attr-defined]
            e.jwt_data = _decode_jwt(**kwargs, allow_expired=True)  # type: ignore[attr-defined]
            raise
