"""The error page speaks the visitor's language: a service's refusal by its code, a refusal
of the HTTP layer by its status; never the services' English to a Hindi reader."""

from __future__ import annotations

from nibog import waitlist
from nibog.core import boundary
from nibog.extensions import db
from tests.factories import ChildFactory, GameSlotFactory
from tests.web.support import csrf_on, hindi, html, sign_in


def _closed_entry(user):
    """A waiting-list entry whose offer ran out: leaving it is refused (409)."""
    slot = GameSlotFactory(capacity=1, booked_count=1)
    entry = waitlist.join(user.id, slot.id, ChildFactory(parent=user, full_name="Kabir").id)
    boundary.commit()
    entry = db.session.merge(entry)
    entry.status = "expired"
    boundary.commit()
    return entry


def test_a_service_refusal_is_shown_in_hindi_by_its_code(client):
    user = sign_in(client)
    entry = _closed_entry(user)
    hindi(client)
    resp = client.post(f"/account/waiting-list/{entry.id}/leave")
    page = html(resp)
    assert resp.status_code == 409 and '<html lang="hi">' in page
    assert "प्रतीक्षा सूची की यह प्रविष्टि पहले ही बंद हो चुकी है।" in page
    assert "This entry is already expired" not in page and "already closed" not in page


def test_the_same_refusal_in_english(client):
    user = sign_in(client)
    entry = _closed_entry(user)
    resp = client.post(f"/account/waiting-list/{entry.id}/leave")
    assert resp.status_code == 409
    assert "This waiting-list entry is already closed." in html(resp)


def test_an_http_refusal_is_said_in_hindi_by_its_status(client):
    hindi(client)
    resp = client.get("/events/1/favourite")  # the toggle only takes a form post
    page = html(resp)
    assert resp.status_code == 405 and '<html lang="hi">' in page
    assert "यह पेज इस तरह नहीं खोला जा सकता।" in page
    assert "The method is not allowed" not in page


def test_a_pages_own_sentence_is_kept(client, app):
    hindi(client)
    with csrf_on(app):
        resp = client.post("/forgot-password", data={"email": "asha@example.com"})
    page = html(resp)
    assert resp.status_code == 400
    # The CSRF refusal's own (translated) sentence, not the status's.
    assert "यह फ़ॉर्म बहुत देर तक खुला रहा" in page
    assert "This form was open too long" not in page
