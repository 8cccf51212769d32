"""Google sign-in: tokens signed with local RSA keys; Google's certificate endpoint
(``/oauth2/v1/certs``: key id -> self-signed X.509 PEM, with Cache-Control) is served by
``responses`` with certificates made here. No network."""

from __future__ import annotations

import datetime as dt
import time

import pytest
import responses
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from google.auth import crypt
from google.auth import jwt as google_jwt

from nibog.accounts.models import User
from tests.auth.support import make_user
from tests.helpers import error_code

CLIENT_ID = "nibog-test.apps.googleusercontent.com"


def _keypair():
    """(private key PEM, self-signed certificate PEM) - the form Google publishes its keys in."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "federated-signon.system.gserviceaccount.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=14))
        .sign(key, hashes.SHA256())
    )
    return private, cert.public_bytes(serialization.Encoding.PEM).decode()


GOOGLE_KEY = _keypair()
ROTATED_KEY = _keypair()
ATTACKER_KEY = _keypair()
CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"
CACHE_CONTROL = "public, max-age=22367, must-revalidate, no-transform"


@pytest.fixture
def certs():
    from nibog.auth.google import CERTS

    CERTS.clear()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.endpoint = rsps.get(
            CERTS_URL, json={"key-1": GOOGLE_KEY[1]}, headers={"Cache-Control": CACHE_CONTROL}
        )
        yield rsps
    CERTS.clear()


@pytest.fixture
def google(app, monkeypatch, certs):
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_ID", CLIENT_ID)
    return certs


def id_token(private_pem=GOOGLE_KEY[0], kid="key-1", **claims) -> str:
    now = int(time.time())
    payload = {
        "iss": "https://accounts.google.com",
        "aud": CLIENT_ID,
        "sub": "google-sub-1",
        "email": "priya@gmail.com",
        "email_verified": True,
        "name": "Priya Nair",
        "iat": now,
        "exp": now + 3600,
    }
    payload.update(claims)
    signer = crypt.RSASigner.from_string(private_pem, key_id=kid)
    return google_jwt.encode(signer, payload).decode()


def google_login(client, token):
    return client.post("/api/auth/login/google", json={"id_token": token})


def test_valid_token_creates_a_verified_account(client, db, google, outbox):
    resp = google_login(client, id_token())
    assert resp.status_code == 200
    user = resp.get_json()["user"]
    assert user["email"] == "priya@gmail.com" and user["email_verified"] is True
    assert user["full_name"] == "Priya Nair"
    assert outbox.last("welcome")[0] == "priya@gmail.com"
    again = google_login(client, id_token(email="renamed@gmail.com"))
    assert again.get_json()["user"]["id"] == user["id"]  # found by subject, not email
    assert db.session.query(User).count() == 1


def test_links_an_existing_account_by_verified_email(client, db, google):
    existing = make_user(email="priya@gmail.com", email_verified=False)
    resp = google_login(client, id_token(email="Priya@Gmail.com"))
    assert resp.get_json()["user"]["id"] == existing.id
    db.session.expire_all()
    linked = db.session.get(User, existing.id)
    assert linked.google_sub == "google-sub-1" and linked.email_verified is True


def test_linking_an_unproven_address_drops_what_its_registrant_set_up(client, db, google):
    """Someone registered priya@gmail.com without proving it; when Priya signs in with Google
    the account becomes hers, and the registrant's password and sessions stop working."""
    from tests.auth.support import PASSWORD, bearer, login

    make_user(email="priya@gmail.com", email_verified=False)
    squatter = login(client, "priya@gmail.com").get_json()
    resp = google_login(client, id_token())
    assert resp.status_code == 200
    assert client.get("/api/users/me", headers=bearer(squatter["access_token"])).status_code == 401
    assert client.post("/api/auth/refresh",
                       headers=bearer(squatter["refresh_token"])).status_code == 401
    assert login(client, "priya@gmail.com", PASSWORD).status_code == 401
    fresh = resp.get_json()["access_token"]
    assert client.get("/api/users/me", headers=bearer(fresh)).status_code == 200


def test_linking_a_proven_address_keeps_the_password(client, db, google):
    from tests.auth.support import PASSWORD, login

    make_user(email="priya@gmail.com", email_verified=True)
    assert google_login(client, id_token()).status_code == 200
    assert login(client, "priya@gmail.com", PASSWORD).status_code == 200


def test_unverified_google_email_does_not_take_over_an_account(client, db, google):
    existing = make_user(email="priya@gmail.com")
    resp = google_login(client, id_token(email_verified=False))
    assert resp.status_code == 200
    assert resp.get_json()["user"]["id"] != existing.id
    assert resp.get_json()["user"]["email"] is None


@pytest.mark.parametrize(
    "token_kwargs",
    [
        pytest.param({"aud": "someone-else.apps.googleusercontent.com"}, id="wrong-audience"),
        pytest.param({"exp": int(time.time()) - 600, "iat": int(time.time()) - 4200}, id="expired"),
        pytest.param({"private_pem": ATTACKER_KEY[0]}, id="bad-signature"),
        pytest.param({"iss": "https://evil.example.com"}, id="wrong-issuer"),
        pytest.param({"kid": "unknown-key"}, id="unknown-key-id"),
    ],
)
def test_invalid_tokens_are_refused(client, db, google, token_kwargs):
    resp = google_login(client, id_token(**token_kwargs))
    assert resp.status_code == 401
    assert error_code(resp) == "invalid_token"
    assert db.session.query(User).count() == 0


def test_garbage_token_is_refused(client, google):
    resp = google_login(client, "not-a-jwt")
    assert resp.status_code == 401 and error_code(resp) == "invalid_token"


def test_deactivated_linked_account_cannot_sign_in(client, google):
    make_user(email="priya@gmail.com", google_sub="google-sub-1", is_active_account=False)
    resp = google_login(client, id_token())
    assert resp.status_code == 401


def test_google_sign_in_needs_a_client_id(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "GOOGLE_CLIENT_ID", "")
    resp = google_login(client, id_token())
    assert resp.status_code == 503 and error_code(resp) == "google_sign_in_disabled"


def _cert_fetches(certs) -> int:
    return sum(1 for c in certs.calls if c.request.url == CERTS_URL)


def test_certificates_are_fetched_once_and_cached(client, google):
    assert google_login(client, id_token()).status_code == 200
    assert google_login(client, id_token(sub="google-sub-2", email="b@gmail.com")).status_code == 200
    assert _cert_fetches(google) == 1


def test_a_rotated_key_refetches_the_certificates_once(client, google, monkeypatch):
    import nibog.auth.google as module

    assert google_login(client, id_token()).status_code == 200  # key-1 cached
    google.replace(responses.GET, CERTS_URL,
                   json={"key-1": GOOGLE_KEY[1], "key-2": ROTATED_KEY[1]},
                   headers={"Cache-Control": CACHE_CONTROL})
    later = module._now() + module.REFETCH_MIN_SECONDS + 1
    monkeypatch.setattr(module, "_now", lambda: later)
    resp = google_login(client, id_token(private_pem=ROTATED_KEY[0], kid="key-2"))
    assert resp.status_code == 200
    assert _cert_fetches(google) == 2
    # The refreshed set serves the next sign-ins from the cache.
    assert google_login(client, id_token(private_pem=ROTATED_KEY[0], kid="key-2")).status_code == 200
    assert _cert_fetches(google) == 2


def test_made_up_key_ids_cannot_make_us_hammer_google(client, google, monkeypatch):
    import nibog.auth.google as module

    assert google_login(client, id_token()).status_code == 200
    later = module._now() + module.REFETCH_MIN_SECONDS + 1
    monkeypatch.setattr(module, "_now", lambda: later)
    for i in range(5):
        resp = google_login(client, id_token(private_pem=ATTACKER_KEY[0], kid=f"made-up-{i}"))
        assert resp.status_code == 401
    assert _cert_fetches(google) == 2  # one refetch, then the fresh set answers for a while


def test_the_cache_follows_googles_max_age(client, google, monkeypatch):
    import nibog.auth.google as module

    assert google_login(client, id_token()).status_code == 200
    later = module._now() + 22367 + 1
    monkeypatch.setattr(module, "_now", lambda: later)
    assert google_login(client, id_token()).status_code == 200
    assert _cert_fetches(google) == 2


def test_an_unreachable_key_server_is_a_503(client, google):
    google.replace(responses.GET, CERTS_URL, status=503, body="backend error")
    resp = google_login(client, id_token())
    assert resp.status_code == 503 and error_code(resp) == "service_unavailable"
