"""An admin lowering an add-on's stock while a booking takes some, on parallel connections.

The edit reads the add-ons, a booking takes 3 of 10 and commits, the edit sets 2: the check
must see the 3 (the variant locked and read again), not the 0 it read with the add-ons, and
answer 409 ``stock_below_sold``. The control (``guards.stock_edit_lock`` off) checks against
the stale read: the database's CHECK then refuses the write with a 500.
"""

from __future__ import annotations

from nibog.booking.service import create_booking
from nibog.catalog.models import AddOnVariant
from nibog.core import locking
from nibog.extensions import db
from tests.booking.world import add_variant, make_world
from tests.concurrency.race import interleave
from tests.factories import UserFactory
from tests.helpers import auth_headers


def _a_booking_during_a_stock_edit(app):
    """The booking runs while the edit has read the add-ons and not yet checked the stock."""
    w = make_world()
    variant = add_variant(w.event, stock=10)
    event_id, addon_id, variant_id = w.event.id, variant.addon_id, variant.id
    parent_id, child_id, slot_id = w.parent.id, w.children[0].id, w.slots[0].id
    admin = UserFactory(role="admin")
    with app.test_request_context():
        headers = auth_headers(admin)
    db.session.commit()

    def lower_stock(_):
        resp = app.test_client().put(
            f"/api/admin/events/{event_id}", headers=headers,
            json={"addons": [{"id": addon_id, "variants": [{"id": variant_id, "stock": 2}]}]})
        return resp.status_code, (resp.get_json() or {}).get("error", {}).get("code")

    def book(_):
        return create_booking(
            user_id=parent_id, event_id=event_id, promo_code=None, source="app",
            items=[{"child_id": child_id, "slot_id": slot_id}],
            addons=[{"addon_id": addon_id, "variant_id": variant_id, "quantity": 3}]).status

    results = interleave(app, lower_stock, book, "stock_edit_read")
    db.session.expire_all()
    stored = db.session.get(AddOnVariant, variant_id)
    return results, (stored.stock, stored.sold_count)


def test_lowering_stock_below_what_a_booking_just_took_is_409_not_500(app):
    results, stock = _a_booking_during_a_stock_edit(app)
    assert results == [("ok", (409, "stock_below_sold")), ("ok", "pending_payment")]
    assert stock == (10, 3)


def test_control_without_the_stock_edit_lock_the_check_answers_with_a_500(app, monkeypatch):
    monkeypatch.setattr(locking.guards, "stock_edit_lock", False)
    results, stock = _a_booking_during_a_stock_edit(app)
    # The edit checked 2 against the 0 sold it had read and wrote it; only the database's
    # CHECK (stock >= sold) kept the stock from going below what was sold.
    assert results == [("ok", (500, "internal_error")), ("ok", "pending_payment")]
    assert stock == (10, 3)
