import json

import pytest
from sqlalchemy import select

from nibog.booking.models import Booking
from nibog.catalog.models import GameSlot
from nibog.extensions import db
from nibog.integrations.models import Partner
from nibog.integrations.service import sign
from nibog.payments.models import WebhookEvent
from tests.factories import EventFactory, EventGameFactory, GameSlotFactory, birth_date_for_age
from tests.helpers import error_code, in_threads

# Commit mode (docs/testing.md, "Isolation"): the delivery log is written in transactions of its own (integrations/service.py).
pytestmark = pytest.mark.commits

SECRET = "partner-secret-123"


@pytest.fixture
def partner(db):
    row = Partner(name="Kids Tickets", slug="kidstix", webhook_secret=SECRET)
    db.session.add(row)
    db.session.commit()
    return row


@pytest.fixture
def slot():
    return GameSlotFactory(event_game=EventGameFactory(event=EventFactory()), capacity=3)


def _event_id(slot):
    from nibog.catalog.models import EventGame

    return db.session.get(EventGame, slot.event_game_id).event_id


def _body(slot, ref="KT-1001", paid=False):
    return {
        "external_ref": ref,
        "event_id": _event_id(slot),
        "customer": {
            "full_name": "Asha Rao",
            "email": "Asha@Example.com",
            "phone": "+919800000001",
        },
        "children": [{"full_name": "Veer", "date_of_birth": birth_date_for_age(24).isoformat()}],
        "items": [{"child_index": 0, "slot_id": slot.id}],
        "paid": paid,
    }


def _post(client, path, body, *, event_id="evt-1", secret=SECRET, slug="kidstix", raw=None):
    raw = raw if raw is not None else json.dumps(body).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Nibog-Partner": slug,
        "X-Nibog-Signature": sign(secret, raw),
        "X-Nibog-Event-Id": event_id,
    }
    return client.post(f"/webhooks/external/{path}", data=raw, headers=headers)


def _bookings():
    return db.session.scalar(db.select(db.func.count()).select_from(Booking))


def test_partner_booking_goes_through_the_engine(client, partner, slot):
    resp = _post(client, "booking", _body(slot))
    assert resp.status_code == 200, resp.get_json()
    booking = resp.get_json()["booking"]
    assert booking["status"] == "pending_payment"
    assert booking["total"] == 79900  # priced by the server from the template
    row = db.session.get(Booking, booking["id"])
    assert (row.source, row.partner_id, row.external_ref) == ("partner", partner.id, "KT-1001")
    assert row.guest_email == "asha@example.com"
    assert db.session.get(GameSlot, slot.id).booked_count == 1


def test_paid_partner_booking_is_confirmed_at_once(client, partner, slot):
    resp = _post(client, "booking", _body(slot, paid=True))
    assert resp.get_json()["booking"]["status"] == "confirmed"


def test_bad_or_missing_signature_is_401_and_books_nothing(client, partner, slot):
    body = _body(slot)
    assert _post(client, "booking", body, secret="wrong").status_code == 401
    assert error_code(_post(client, "booking", body, slug="nobody")) == "invalid_signature"
    raw = json.dumps(body).encode()
    # Signed over the original bytes, sent with one field changed.
    headers = {
        "X-Nibog-Partner": "kidstix",
        "X-Nibog-Signature": sign(SECRET, raw),
        "X-Nibog-Event-Id": "x",
    }
    tampered = client.post(
        "/webhooks/external/booking", data=raw.replace(b"KT-1001", b"KT-9999"), headers=headers
    )
    assert tampered.status_code == 401
    unsigned = client.post("/webhooks/external/booking", json=body)
    assert unsigned.status_code == 401
    odd = client.post("/webhooks/external/booking", data=raw,
                      headers={**headers, "X-Nibog-Signature": "é"})
    assert odd.status_code == 401  # not a 500: compare_digest refuses non-ASCII str
    partner.is_active = False
    db.session.commit()
    assert _post(client, "booking", body).status_code == 401
    assert _bookings() == 0


def test_replay_returns_the_same_answer_and_books_nothing_new(client, partner, slot):
    first = _post(client, "booking", _body(slot), event_id="evt-42")
    again = _post(client, "booking", _body(slot), event_id="evt-42")
    assert first.status_code == again.status_code == 200
    assert again.get_json() == first.get_json()
    assert (first.headers["Idempotent-Replayed"], again.headers["Idempotent-Replayed"]) == (
        "false", "true")
    assert _bookings() == 1
    assert db.session.get(GameSlot, slot.id).booked_count == 1
    assert (
        db.session.scalar(db.select(WebhookEvent.provider).where(WebhookEvent.event_id == "evt-42"))
        == "partner:kidstix"
    )

    # The same event id with another body is a client bug, not a replay.
    other = _post(client, "booking", _body(slot, ref="KT-2002"), event_id="evt-42")
    assert other.status_code == 409 and error_code(other) == "idempotency_key_reused"
    # A new event id for the same external_ref is refused too: one booking per partner ref.
    dup = _post(client, "booking", _body(slot), event_id="evt-43")
    assert dup.status_code == 409 and error_code(dup) == "external_ref_exists"
    assert _bookings() == 1


def test_concurrent_duplicate_deliveries_book_once(app, partner, slot):
    raw = json.dumps(_body(slot)).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Nibog-Partner": "kidstix",
        "X-Nibog-Signature": sign(SECRET, raw),
        "X-Nibog-Event-Id": "evt-race",
    }

    def deliver(_):
        # Each thread gets its own app context, hence its own session and connection.
        with app.app_context():
            resp = app.test_client().post("/webhooks/external/booking", data=raw, headers=headers)
            return resp.status_code, resp.get_json()

    results = in_threads(deliver, 4)
    assert {status for status, _ in results} == {200}
    assert len({body["booking"]["id"] for _, body in results}) == 1
    db.session.expire_all()
    assert _bookings() == 1
    assert db.session.get(GameSlot, slot.id).booked_count == 1


def test_one_order_delivered_under_two_event_ids_at_once_books_once(app, partner, slot):
    """Different delivery ids, same external_ref, at the same moment: one booking; the
    other delivery hears external_ref_exists (409), not a 500."""
    raw = json.dumps(_body(slot)).encode()

    def deliver(i):
        headers = {"Content-Type": "application/json", "X-Nibog-Partner": "kidstix",
                   "X-Nibog-Signature": sign(SECRET, raw), "X-Nibog-Event-Id": f"evt-twin-{i}"}
        with app.app_context():
            resp = app.test_client().post("/webhooks/external/booking", data=raw, headers=headers)
            return resp.status_code, resp.get_json()

    results = in_threads(deliver, 4)
    statuses = sorted(status for status, _ in results)
    assert statuses.count(200) == 1 and set(statuses) <= {200, 409}, results
    assert all(body["error"]["code"] == "external_ref_exists"
               for status, body in results if status == 409)
    db.session.expire_all()
    assert _bookings() == 1
    assert db.session.get(GameSlot, slot.id).booked_count == 1


def test_update_cancels_by_external_ref_once(client, partner, slot):
    booking_id = _post(client, "booking", _body(slot)).get_json()["booking"]["id"]
    cancel = {"external_ref": "KT-1001", "action": "cancel", "reason": "customer asked"}
    first = _post(client, "update", cancel, event_id="evt-c1")
    assert first.status_code == 200, first.get_json()
    assert first.get_json()["booking"]["status"] == "cancelled"
    assert db.session.get(GameSlot, slot.id).booked_count == 0
    replay = _post(client, "update", cancel, event_id="evt-c1")
    assert replay.status_code == 200 and replay.get_json() == first.get_json()
    # A fresh delivery of the same cancel hits the engine's rule.
    again = _post(client, "update", cancel, event_id="evt-c2")
    assert again.status_code == 409 and error_code(again) == "booking_not_cancellable"
    unknown = _post(client, "update", {"external_ref": "nope", "action": "cancel"}, event_id="e3")
    assert unknown.status_code == 404
    assert db.session.get(Booking, booking_id).status == "cancelled"


def test_update_confirms_a_partner_booking(client, partner, slot):
    _post(client, "booking", _body(slot))
    resp = _post(client, "update", {"external_ref": "KT-1001", "action": "confirm"}, event_id="u1")
    assert resp.get_json()["booking"]["status"] == "confirmed"
    # Paid to the partner, not through our gateway: recorded as cash, so revenue counts it.
    booking = db.session.scalar(select(Booking).where(Booking.external_ref == "KT-1001"))
    assert booking.payment_mode == "cash"


def test_signed_but_invalid_body_is_422(client, partner, slot):
    body = _body(slot)
    del body["items"]
    resp = _post(client, "booking", body)
    assert resp.status_code == 422 and "items" in resp.get_json()["error"]["details"]
    resp = _post(client, "booking", None, raw=b"[1, 2]")
    assert resp.status_code == 400
    no_id = client.post(
        "/webhooks/external/booking",
        data=json.dumps(_body(slot)).encode(),
        headers={
            "X-Nibog-Partner": "kidstix",
            "X-Nibog-Signature": sign(SECRET, json.dumps(_body(slot)).encode()),
        },
    )
    assert no_id.status_code == 422


def test_a_refused_delivery_is_replayed_as_it_was(client, partner, slot):
    """The contract's replay holds for refusals too: the same delivery id answers the first
    4xx (status and body) even once the request would succeed; a new delivery id asks again."""
    full = db.session.get(GameSlot, slot.id)
    full.capacity = 0
    db.session.commit()
    first = _post(client, "booking", _body(slot), event_id="evt-full")
    assert first.status_code == 409 and error_code(first) == "slot_full"
    full = db.session.get(GameSlot, slot.id)
    full.capacity = 3
    db.session.commit()
    again = _post(client, "booking", _body(slot), event_id="evt-full")
    assert again.status_code == 409 and again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert db.session.scalars(select(Booking)).all() == []
    fresh = _post(client, "booking", _body(slot), event_id="evt-new")
    assert fresh.status_code == 200, fresh.get_json()
