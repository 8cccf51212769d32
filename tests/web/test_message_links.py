"""Every link in every e-mail and SMS the platform sends opens a working page.

Each message template is rendered (English and Hindi) with the context the platform queues for
it, every link to the site is pulled out of the text and HTML, and each is opened the way the
recipient would: in a browser (HTML wanted), signed in as the booking's parent where the page
is theirs, anonymously otherwise. A template added without a case here fails the first test.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from nibog.auth import service as auth_service
from nibog.core import boundary
from nibog.core.timeutil import isoformat_ist, today_ist, utcnow
from nibog.notifications import templates as message_templates
from tests.documents.helpers import make_booking
from tests.factories import PASSWORD as FACTORY_PASSWORD
from tests.factories import EventFactory
from tests.web.support import sign_in

ROOT = Path(__file__).resolve().parents[2] / "templates"
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
URL = re.compile(r"https?://[^\s\"'<>]+")


def _all_templates() -> set[tuple[str, str]]:
    found = {("email", p.stem) for p in (ROOT / "email").glob("*.txt")
             if not p.name.startswith("_")}
    found |= {("sms", p.stem) for p in (ROOT / "sms").glob("*.txt")}
    return found


@pytest.fixture
def cases(outbox, app):
    """(channel, template) -> (context queued, user id, booking id, the signed-in owner)."""
    past = EventFactory(event_date=today_ist() - timedelta(days=1), status="completed")
    held, info = make_booking(status="pending_payment", child_names=("आरव",))
    parent = info["user"]
    held.hold_expires_at = utcnow() + timedelta(minutes=15)
    confirmed, _ = make_booking(user=parent)
    cancelled, _ = make_booking(user=parent, status="cancelled")
    completed, _ = make_booking(user=parent, event=past, status="completed")
    boundary.commit()
    auth_service.request_password_reset(parent.email)
    auth_service.request_email_verification(parent)
    boundary.commit()
    _, reset = outbox.last("password_reset")
    _, verify = outbox.last("verify_email")
    booking = {"held": held.id, "confirmed": confirmed.id, "cancelled": cancelled.id,
               "completed": completed.id}
    by_booking = {
        "booking_held": ({}, "held"),
        "booking_confirmed": ({}, "confirmed"),
        "booking_cancelled": ({"refund_amount": 79900, "reason": "Child unwell"}, "cancelled"),
        "refund_processed": ({"amount": 79900}, "cancelled"),
        "late_payment_refunded": ({"amount": 79900}, "cancelled"),
        "waitlist_offer": ({"child_name": "आरव", "offer_expires_at": isoformat_ist(
            utcnow() + timedelta(hours=1))}, "held"),
        "event_reminder": ({}, "confirmed"),
        "certificate_ready": ({}, "completed"),
    }
    out = {}
    for channel, name in _all_templates():
        if name in by_booking:
            extra, which = by_booking[name]
            out[(channel, name)] = ({"booking_id": booking[which], **extra}, parent.id,
                                    booking[which])
        elif name == "password_reset":
            out[(channel, name)] = (reset, parent.id, None)
        elif name == "verify_email":
            out[(channel, name)] = (verify, parent.id, None)
        elif name in ("login_otp", "phone_verify_otp"):
            out[(channel, name)] = ({"otp": "123456", "expires_minutes": 5}, parent.id, None)
        elif name == "welcome":
            out[(channel, name)] = ({"full_name": parent.full_name}, parent.id, None)
        elif name == "contact_message":
            out[(channel, name)] = ({"name": "Asha", "email": "asha@example.com", "phone": "",
                                     "message": "Hello"}, None, None)
        elif name == "event_announcement":
            event = EventFactory(title="Pune Games")
            out[(channel, name)] = ({"event_id": event.id, "event_title": event.title,
                                     "event_date": "Sun, 3 Jan 2027"}, parent.id, None)
    return out, parent


def _render(channel, name, context, user_id, booking_id, language) -> str:
    ctx = message_templates.build_context(context, booking_id=booking_id, user_id=user_id,
                                          language=language)
    if channel == "email":
        subject, text, html = message_templates.render_email(name, ctx)
        return "\n".join([subject, text, html or ""])
    return message_templates.render_short_text(name, ctx)


def test_every_message_template_has_a_case(cases):
    out, _ = cases
    assert set(out) == _all_templates()


@pytest.mark.parametrize("language", ["en", "hi"])
def test_every_link_in_every_message_opens_a_working_page(client, app, cases, language):
    out, parent = cases
    sign_in(client, parent)
    anonymous = app.test_client()
    base = urlsplit(app.config["PUBLIC_BASE_URL"])
    opened = {}
    for (channel, name), (context, user_id, booking_id) in sorted(out.items()):
        rendered = _render(channel, name, context, user_id, booking_id, language)
        assert "{{" not in rendered and "%(" not in rendered, (name, rendered)
        if language == "hi" and name not in message_templates.STAFF_TEMPLATES:
            assert re.search("[\u0900-\u097f]", rendered), f"{channel}/{name} is not in Hindi"
        for url in set(URL.findall(rendered)):
            url = url.rstrip(".,)")
            parts = urlsplit(url.replace("&amp;", "&"))
            if parts.netloc != base.netloc:
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            who = client if path.startswith(("/account", "/book/")) else anonymous
            resp = who.get(path, headers=BROWSER, follow_redirects=True)
            assert resp.status_code == 200 and resp.mimetype == "text/html", (
                f"{channel}/{name} links to {path}: {resp.status_code}")
            opened.setdefault(parts.path.split("/")[1], set()).add(name)
    # The links the messages are known to carry, each opened at least once.
    assert {"account", "book", "events", "reset-password", "api"} <= set(opened)


def test_a_booking_link_asks_a_signed_out_parent_to_sign_in_and_returns(client, cases):
    out, parent = cases
    context, user_id, booking_id = out[("email", "booking_confirmed")]
    path = f"/account/bookings/{booking_id}"
    resp = client.get(path, headers=BROWSER)
    assert resp.status_code == 302 and "next=%2Faccount%2Fbookings" in resp.headers["Location"]
    back = client.post("/login", data={"email": parent.email, "password": FACTORY_PASSWORD,
                                       "next": path})
    assert back.headers["Location"].endswith(path)
