"""An admin lowering an add-on's stock while a booking takes some, on parallel connections."""

from __future__ import annotations

import threading

from nibog.booking.service import create_booking
from nibog.catalog import addon_admin
from nibog.catalog.models import AddOnVariant
from nibog.core.jobs import discard_pending_jobs
from nibog.extensions import db
from tests.booking.world import add_variant, make_world
from tests.factories import UserFactory
from tests.helpers import auth_headers


def test_lowering_stock_below_what_a_booking_just_took_is_409_not_500(app, monkeypatch):
    """The edit reads the add-ons, a booking takes 3 of 10 and commits, the edit sets 2: the
    check must see the 3 (locked, fresh), not the 0 it read, and answer stock_below_sold."""
    w = make_world()
    variant = add_variant(w.event, stock=10)
    event_id, addon_id, variant_id = w.event.id, variant.addon_id, variant.id
    admin = UserFactory(role="admin")
    with app.test_request_context():
        headers = auth_headers(admin)
    read, booked = threading.Event(), threading.Event()
    real = addon_admin.event_addons

    def read_then_wait(event_id):
        addons = real(event_id)
        read.set()
        assert booked.wait(30)
        return addons

    monkeypatch.setattr(addon_admin, "event_addons", read_then_wait)
    answer = {}

    def lower_stock():
        answer["resp"] = app.test_client().put(
            f"/api/admin/events/{event_id}", headers=headers,
            json={"addons": [{"id": addon_id, "variants": [{"id": variant_id, "stock": 2}]}]})

    thread = threading.Thread(target=lower_stock, daemon=True)
    thread.start()
    try:
        assert read.wait(30)
        create_booking(user_id=w.parent.id, event_id=w.event.id, promo_code=None, source="app",
                       items=[{"child_id": w.children[0].id, "slot_id": w.slots[0].id}],
                       addons=[{"addon_id": variant.addon_id, "variant_id": variant.id,
                                "quantity": 3}])
        # Committed, but its seats_changed job (run in-line in tests) would wait for the
        # edit's event lock: leave it out, it is not what this test is about.
        db.session.commit()
    finally:
        booked.set()
        thread.join(60)
        discard_pending_jobs()
    assert not thread.is_alive(), "the stock edit hung"
    resp = answer["resp"]
    assert resp.status_code == 409, resp.get_json()
    assert resp.get_json()["error"]["code"] == "stock_below_sold"
    db.session.expire_all()
    stored = db.session.get(AddOnVariant, variant.id)
    assert (stored.stock, stored.sold_count) == (10, 3)
