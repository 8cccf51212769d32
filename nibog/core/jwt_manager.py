"""flask-jwt-extended's manager, and one decode per token at the lowest CPU PyJWT allows.

The stock manager parses a token's claims and header without verifying them (to pick a key per
token, which we never do), then decodes it again with verification; and PyJWT re-checks the HMAC
secret on every decode (is it a PEM, SSH, DER key or certificate, a JSON key?) although it never
changes. In a sales burst those passes were a measurable share of a booking request
(bench/profile_booking.py). ``decode_once`` verifies exactly what the stock path verifies
(signature, algorithm allow-list, exp/nbf/iat with the configured leeway, audience, issuer, the
identity claim) and returns header and claims from one parse.

Written against flask-jwt-extended 4.7 (whose private decode hook ``JWTManager`` overrides) and
PyJWT 2.15 (whose ``PyJWT._jws`` gets the key-caching HMAC), both pinned.
"""

from __future__ import annotations

import jwt as pyjwt
from flask_jwt_extended import JWTManager as _JWTManager
from flask_jwt_extended.config import config
from flask_jwt_extended.exceptions import JWTDecodeError
from flask_jwt_extended.tokens import _decode_jwt
from jwt import ExpiredSignatureError
from jwt.algorithms import HMACAlgorithm
from jwt.api_jws import PyJWS
from jwt.utils import force_bytes


class _CheckedKeyHMAC(HMACAlgorithm):
    """HMAC that vets a secret once, then reuses the vetted bytes for every token."""

    # The app's secret, plus room for a rotation; a bad secret is never stored (it raises).
    MAX_KEYS = 4

    def __init__(self, hash_alg) -> None:
        super().__init__(hash_alg)
        self._vetted: dict[bytes, bytes] = {}

    def prepare_key(self, key) -> bytes:
        raw = force_bytes(key)
        vetted = self._vetted.get(raw)
        if vetted is None:
            vetted = super().prepare_key(raw)
            if len(self._vetted) < self.MAX_KEYS:
                self._vetted[raw] = vetted
        return vetted


def _decoder() -> pyjwt.PyJWT:
    jws = PyJWS()
    for name, hash_alg in (("HS256", HMACAlgorithm.SHA256), ("HS384", HMACAlgorithm.SHA384),
                           ("HS512", HMACAlgorithm.SHA512)):
        jws.unregister_algorithm(name)
        jws.register_algorithm(name, _CheckedKeyHMAC(hash_alg))
    decoder = pyjwt.PyJWT()
    decoder._jws = jws
    return decoder


_DECODER = _decoder()


def decode_once(encoded_token: str, *, allow_expired: bool = False) -> tuple[dict, dict]:
    """(header, claims) of a verified token; raises what flask-jwt-extended's decode raises.

    An expired token raises ``ExpiredSignatureError`` carrying ``jwt_header``/``jwt_data``, as
    the expired-token callback expects.
    """
    options = {"verify_aud": config.decode_audience is not None, "verify_sub": config.verify_sub}
    if allow_expired:
        options["verify_exp"] = False
    try:
        complete = _DECODER.decode_complete(
            encoded_token,
            config.decode_key,
            algorithms=config.decode_algorithms,
            audience=config.decode_audience,
            issuer=config.decode_issuer,
            leeway=config.leeway,
            options=options,
        )
    except ExpiredSignatureError as e:
        e.jwt_header, e.jwt_data = decode_once(  # type: ignore[attr-defined]
            encoded_token, allow_expired=True
        )
        raise
    header, claims = complete["header"], complete["payload"]
    # The same defaults and required claim as flask_jwt_extended.tokens._decode_jwt.
    if config.identity_claim_key not in claims:
        raise JWTDecodeError(f"Missing claim: {config.identity_claim_key}")
    claims.setdefault("type", "access")
    claims.setdefault("fresh", False)
    claims.setdefault("jti", None)
    return header, claims


class JWTManager(_JWTManager):
    def _decode_jwt_from_config(self, encoded_token: str, csrf_value=None,
                                allow_expired: bool = False) -> dict:
        if csrf_value is None:
            return decode_once(encoded_token, allow_expired=allow_expired)[1]
        # Cookie tokens with a CSRF double submit (not used by this app): the stock path.
        return _decode_jwt(
            algorithms=config.decode_algorithms, allow_expired=allow_expired,
            audience=config.decode_audience, csrf_value=csrf_value,
            encoded_token=encoded_token, identity_claim_key=config.identity_claim_key,
            issuer=config.decode_issuer, leeway=config.leeway, secret=config.decode_key,
            verify_aud=config.decode_audience is not None, verify_sub=config.verify_sub,
        )
