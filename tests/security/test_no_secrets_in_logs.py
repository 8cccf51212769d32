"""Secrets and personal data never reach the logs, even at LOG_LEVEL=DEBUG.

An app built with ``LOG_LEVEL=DEBUG`` (JSON lines, as in production) runs a guest booking, a
password reset and a phone OTP sign-in through its API; every line its log handler would write
is captured, and none may carry the reset token, the OTP code, the new password, the phone
number, an access token or the guest's e-mail address.
"""

from __future__ import annotations

import io
import logging
import re
from urllib.parse import parse_qs, urlparse

import pytest

from nibog import create_app
from nibog.extensions import db
from tests.auth.support import outbox  # noqa: F401 - fixture
from tests.booking.world import make_world
from tests.factories import UserFactory, birth_date_for_age

PHONE = "+919812345678"
NEW_PASSWORD = "a-new-secret-passphrase"


@pytest.fixture
def debug_app(app, database_urls):
    """A second app on the same database and Redis, configured with LOG_LEVEL=DEBUG; the
    lines its log handler writes are captured (the root logger is restored afterwards)."""
    db_url, redis_url = database_urls
    root = logging.getLogger()
    saved = (root.handlers[:], root.level,
             {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict})
    debug = create_app({
        "SQLALCHEMY_DATABASE_URI": db_url.render_as_string(hide_password=False),
        "REDIS_URL": redis_url, "LOG_LEVEL": "DEBUG", "LOG_JSON": True,
    })
    (handler,) = root.handlers
    captured = io.StringIO()
    handler.setStream(captured)
    with debug.app_context():
        yield debug, captured
        db.session.remove()
        db.engine.dispose()
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


def test_a_booking_a_reset_and_an_otp_sign_in_leave_no_secret_in_the_logs(debug_app, outbox):  # noqa: F811
    app, captured = debug_app
    client = app.test_client()
    assert logging.getLogger().isEnabledFor(logging.DEBUG)
    secrets: dict[str, str] = {}

    # A guest booking: name, e-mail and phone in the body.
    w = make_world(n_children=0)
    booked = client.post("/api/bookings/guest", json={
        "guest": {"full_name": "Asha Rao", "email": "asha.rao@example.com", "phone": PHONE},
        "children": [{"full_name": "Anu",
                      "date_of_birth": birth_date_for_age(24, w.event.event_date).isoformat()}],
        "event_id": w.event.id, "items": [{"child_index": 0, "slot_id": w.slots[0].id}],
    })
    assert booked.status_code == 201, booked.get_json()
    secrets["access code"] = booked.get_json()["access_code"]
    secrets["guest e-mail"] = "asha.rao@example.com"

    # A password reset: the e-mailed link's token, the new password.
    user = UserFactory(email="ravi.k@example.com")
    assert client.post("/api/auth/forgot-password", json={"email": user.email}).status_code == 202
    link = outbox.last("password_reset")[1]["reset_url"]
    secrets["reset token"] = parse_qs(urlparse(link).query)["token"][0]
    assert client.get(urlparse(link).path + "?" + urlparse(link).query).status_code == 200
    reset = client.post("/api/auth/reset-password",
                        json={"token": secrets["reset token"], "password": NEW_PASSWORD})
    assert reset.status_code == 200, reset.get_json()
    secrets["new password"] = NEW_PASSWORD
    secrets["access token"] = reset.get_json()["access_token"]

    # A phone OTP sign-in: the number, the code.
    assert client.post("/api/auth/login/phone", json={"phone": PHONE}).status_code == 202
    secrets["otp code"] = outbox.last("login_otp")[1]["otp"]
    signed_in = client.post("/api/auth/login/phone/verify",
                            json={"phone": PHONE, "otp": secrets["otp code"]})
    assert signed_in.status_code == 200, signed_in.get_json()
    secrets["refresh token"] = signed_in.get_json()["refresh_token"]
    secrets["phone number"] = PHONE
    secrets["phone (national)"] = PHONE[3:]

    log = captured.getvalue()
    # The three messages were "sent" and said so (the console backends log every message).
    assert log.count("(console) to=") == 3, log
    leaked = {what: value for what, value in secrets.items() if value in log}
    # A six-digit code could match anything; look for it as a number of its own.
    if not re.search(rf"(?<!\d){secrets['otp code']}(?!\d)", log):
        leaked.pop("otp code", None)
    assert leaked == {}, [line for line in log.splitlines()
                          if any(v in line for v in leaked.values())][:5]


def test_console_messages_go_whole_to_the_outbox_file_only(app, tmp_path, monkeypatch, caplog):
    from nibog.notifications.channels import OutgoingMessage, masked
    from nibog.notifications.channels.sms import ConsoleSms

    path = tmp_path / "outbox.txt"
    monkeypatch.setitem(app.config, "CONSOLE_OUTBOX_FILE", str(path))
    with caplog.at_level(logging.DEBUG):
        ConsoleSms().send(OutgoingMessage("sms", PHONE, "123456 is your NIBOG sign-in code."))
    assert "123456" in path.read_text() and PHONE in path.read_text()
    assert "123456" not in caplog.text and PHONE not in caplog.text
    assert masked(PHONE) == "+91******5678" and masked(PHONE) in caplog.text
    assert masked("asha.rao@example.com") == "a***@example.com"
