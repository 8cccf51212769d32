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
from nibog.booking.access import hash_access_code
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
    """(channel, template) -> (context queued, user id, booking id), and the signed-in owner."""
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


# -- Guests: no account, and the mail opened in a browser that has never seen the booking ------

GUEST_CODE = "GUESTC0DE7"
BOOKING_TEMPLATES = {
    "booking_held": ({}, "held"),
    "booking_confirmed": ({}, "confirmed"),
    "booking_cancelled": ({"refund_amount": 79900, "reason": "Child unwell"}, "cancelled"),
    "refund_processed": ({"amount": 79900}, "cancelled"),
    "late_payment_refunded": ({"amount": 79900}, "cancelled"),
    "waitlist_offer": ({"child_name": "Ishaan"}, "held"),
    "event_reminder": ({}, "confirmed"),
    "certificate_ready": ({}, "completed"),
}


def _as_guest(booking):
    """A booking as guests.create_guest_booking leaves it: no account, the guest's details,
    and only the hash of the access code the guest was shown."""
    booking.user_id = None
    booking.guest_email, booking.guest_name = "meera@example.com", "Meera Iyer"
    booking.guest_phone = "+919845012345"
    booking.access_code_hash = hash_access_code(GUEST_CODE)
    return booking


@pytest.fixture
def guest_bookings(db):
    past = EventFactory(event_date=today_ist() - timedelta(days=1), status="completed")
    held, _ = make_booking(status="pending_payment", child_names=("Ishaan",))
    held.hold_expires_at = utcnow() + timedelta(minutes=15)
    confirmed, _ = make_booking()
    cancelled, _ = make_booking(status="cancelled")
    completed, _ = make_booking(event=past, status="completed")
    found = {"held": held, "confirmed": confirmed, "cancelled": cancelled, "completed": completed}
    for booking in found.values():
        _as_guest(booking)
    boundary.commit()
    return found


def _site_links(app, rendered: str) -> list[str]:
    base = urlsplit(app.config["PUBLIC_BASE_URL"])
    out = []
    for url in sorted(set(URL.findall(rendered))):
        parts = urlsplit(url.rstrip(".,)").replace("&amp;", "&"))
        if parts.netloc == base.netloc:
            out.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    return out


def _guest_link(app, booking, template="booking_confirmed", channel="email") -> str:
    rendered = _render(channel, template, {"booking_id": booking.id}, None, booking.id, "en")
    return next(p for p in _site_links(app, rendered) if p.startswith(("/bookings/", "/book/")))


@pytest.mark.parametrize("language", ["en", "hi"])
def test_every_link_in_a_guests_messages_opens_their_booking_in_a_fresh_browser(
        app, guest_bookings, language):
    opened = set()
    for channel, name in sorted(_all_templates()):
        if name not in BOOKING_TEMPLATES:
            continue
        extra, which = BOOKING_TEMPLATES[name]
        booking = guest_bookings[which]
        rendered = _render(channel, name, {"booking_id": booking.id, "language": language,
                                           **extra}, None, booking.id, language)
        # A guest has no account to look in (the certificates' SMS said so once).
        assert "your account" not in rendered and "आपके खाते" not in rendered, (
            f"{channel}/{name} tells a guest about their account")
        for path in _site_links(app, rendered):
            assert not path.startswith("/account"), f"{channel}/{name} sends a guest to {path}"
            browser = app.test_client()  # the phone's mail app: no session, no cookie
            resp = browser.get(path, headers=BROWSER, follow_redirects=True)
            page = resp.get_data(as_text=True)
            assert resp.status_code == 200 and resp.mimetype == "text/html", (
                f"{channel}/{name} links to {path}: {resp.status_code}")
            if path.startswith(("/bookings/", "/book/")):
                assert resp.request.path.startswith(("/bookings/", "/book/")), (
                    f"{channel}/{name}: {path} ended on {resp.request.path}")
                assert booking.booking_number in page, f"{channel}/{name}: {path}"
                assert 'name="password"' not in page
                assert "code=" not in resp.request.url  # the stamp leaves the address
                opened.add(resp.request.path.split("/")[-1])
    # The guest booking page and the pay page, each reached.
    assert {str(guest_bookings["confirmed"].id), "pay"} <= opened


def test_a_guest_pays_and_downloads_the_ticket_from_the_links_alone(app, guest_bookings):
    held = guest_bookings["held"]
    phone = app.test_client()
    pay_link = _guest_link(app, held, "booking_held", "sms")
    assert pay_link.startswith(f"/book/{held.id}/pay?code=")
    assert len(pay_link.split("code=")[1]) < 40  # an SMS is short
    page = phone.get(pay_link, headers=BROWSER, follow_redirects=True).get_data(as_text=True)
    # The stamp is not passed off as the access code.
    assert "Your access code is" not in page
    resp = phone.post(f"/book/{held.id}/pay")
    assert resp.status_code == 303  # the sandbox's checkout page
    sandbox = resp.headers["Location"].split("127.0.0.1:5000")[-1]
    phone.post(sandbox, data={"action": "pay", "method": "upi"})
    done = phone.get(f"/book/{held.id}/done").get_data(as_text=True)
    assert "is confirmed" in done
    ticket = phone.get(f"/book/{held.id}/ticket")
    assert ticket.status_code == 200 and ticket.data.startswith(b"%PDF")


def test_a_guest_link_opens_only_its_own_booking(app, guest_bookings):
    confirmed, cancelled = guest_bookings["confirmed"], guest_bookings["cancelled"]
    stamp = _guest_link(app, confirmed).split("code=")[1]
    browser = app.test_client()
    resp = browser.get(f"/bookings/{cancelled.id}?code={stamp}", headers=BROWSER,
                       follow_redirects=True)
    assert resp.request.path == "/bookings/lookup"
    assert cancelled.booking_number not in resp.get_data(as_text=True)
    assert browser.get(f"/bookings/{cancelled.id}").status_code == 404
    assert browser.get(f"/bookings/{confirmed.id}?code={stamp[:-2]}xx",
                       follow_redirects=True).request.path == "/bookings/lookup"
    assert browser.get(f"/bookings/{confirmed.id}").status_code == 404


def test_an_expired_guest_link_asks_for_the_details_with_the_number_filled_in(
        app, guest_bookings, monkeypatch):
    confirmed = guest_bookings["confirmed"]
    link = _guest_link(app, confirmed)
    monkeypatch.setitem(app.config, "GUEST_LINK_MAX_AGE_DAYS", -1)  # every stamp is too old
    browser = app.test_client()
    resp = browser.get(link, headers=BROWSER, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.request.path == "/bookings/lookup"
    assert "This link has expired" in page
    assert f'value="{confirmed.booking_number}"' in page
    assert browser.get(f"/bookings/{confirmed.id}").status_code == 404
    # The access code still finds it.
    resp = browser.post("/bookings/lookup", data={
        "booking_number": confirmed.booking_number, "contact": "meera@example.com",
        "access_code": GUEST_CODE})
    assert resp.headers["Location"].endswith(f"/bookings/{confirmed.id}")


def test_a_guest_link_dies_with_the_access_code(app, guest_bookings):
    confirmed = guest_bookings["confirmed"]
    link = _guest_link(app, confirmed)
    confirmed.access_code_hash = hash_access_code("ANOTHER123")  # e.g. cleared or replaced
    boundary.commit()
    resp = app.test_client().get(link, headers=BROWSER, follow_redirects=True)
    assert resp.request.path == "/bookings/lookup"
    assert confirmed.booking_number not in resp.get_data(as_text=True)


def test_a_guest_link_after_the_booking_joined_an_account_asks_to_sign_in(
        app, guest_bookings, client):
    confirmed = guest_bookings["confirmed"]
    link = _guest_link(app, confirmed)
    owner = make_booking()[1]["user"]
    confirmed.user_id = owner.id  # guests.attach_guest_bookings, once the address is proved
    boundary.commit()
    resp = app.test_client().get(link, headers=BROWSER, follow_redirects=True)
    assert resp.request.path == "/login"
    sign_in(client, owner)
    page = client.get(link, headers=BROWSER, follow_redirects=True)
    assert page.request.path == f"/account/bookings/{confirmed.id}"
    assert confirmed.booking_number in page.get_data(as_text=True)
