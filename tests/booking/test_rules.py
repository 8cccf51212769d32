"""Registration window, age bands and promo code rules."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from sqlalchemy import select

from nibog.booking.models import PromoCode
from nibog.catalog.models import GameSlot
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from tests.booking.world import add_variant, assert_nothing_booked, make_promo, make_world
from tests.factories import (
    ChildFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    birth_date_for_age,
)
from tests.helpers import auth_headers, error_code


def post(client, w, items=None, **body):
    items = items or [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}]
    return client.post("/api/bookings", headers=auth_headers(w.parent),
                       json={"event_id": w.event.id, "items": items, **body})


@pytest.mark.parametrize("event_kw", [
    {"status": "draft"},
    {"status": "cancelled"},
    {"registration_opens_at": utcnow() + timedelta(hours=1)},
    {"registration_closes_at": utcnow() - timedelta(minutes=1)},
])
def test_registration_closed(client, event_kw):
    w = make_world(**event_kw)
    resp = post(client, w)
    assert resp.status_code == 422 and error_code(resp) == "registration_closed"
    assert_nothing_booked(w)


def test_registration_closes_when_the_event_starts(client):
    w = make_world(days_ahead=0)
    w.event.start_time, w.event.end_time = time(0, 0), time(23, 59)
    db.session.commit()
    resp = post(client, w)
    assert resp.status_code == 422 and error_code(resp) == "registration_closed"
    assert_nothing_booked(w)


def test_open_window_accepts(client):
    w = make_world(registration_opens_at=utcnow() - timedelta(days=1),
                   registration_closes_at=utcnow() + timedelta(days=1))
    assert post(client, w).status_code == 201


def test_game_age_override_wins_over_template(client):
    w = make_world(n_slots=0, n_children=0)
    template = GameTemplateFactory(min_age_months=12, max_age_months=48)
    game = EventGameFactory(event=w.event, template=template, min_age_months=30)
    slot = GameSlotFactory(event_game=game)
    child = ChildFactory(parent=w.parent, date_of_birth=birth_date_for_age(24, w.event.event_date))
    resp = post(client, w, [{"child_id": child.id, "slot_id": slot.id}])
    assert resp.status_code == 422 and error_code(resp) == "child_not_eligible"
    assert resp.get_json()["error"]["details"]["items"][0]["min_age_months"] == 30
    assert_nothing_booked(w)


def test_closed_slot_is_refused(client):
    w = make_world()
    db.session.get(GameSlot, w.slots[0].id).is_open = False
    db.session.commit()
    resp = post(client, w)
    assert resp.status_code == 422 and error_code(resp) == "slot_closed"
    assert_nothing_booked(w)


# --- promo codes -------------------------------------------------------------------------------

@pytest.mark.parametrize("promo_kw, discount", [
    ({"kind": "percent", "value": 10}, 7990),
    ({"kind": "percent", "value": 50, "max_discount": 10000}, 10000),
    ({"kind": "fixed", "value": 20000}, 20000),
    ({"kind": "fixed", "value": 999999}, 79900),  # never more than the price
])
def test_promo_discounts(client, promo_kw, discount):
    w = make_world(template_price=79900)
    make_promo("SAVE", **promo_kw)
    b = post(client, w, promo_code="save").get_json()["booking"]
    assert b["discount"] == discount and b["total"] == 79900 - discount and b["promo_code"] == "SAVE"
    if b["total"] == 0:
        assert b["status"] == "confirmed"


@pytest.mark.parametrize("promo_kw, reason", [
    ({"is_active": False}, "inactive"),
    ({"valid_from": utcnow() + timedelta(days=1)}, "not_started"),
    ({"valid_until": utcnow() - timedelta(days=1)}, "expired"),
    ({"min_total": 100000}, "min_total"),
])
def test_promo_invalid(client, promo_kw, reason):
    w = make_world(template_price=79900)
    make_promo("SAVE", **promo_kw)
    resp = post(client, w, promo_code="SAVE")
    assert resp.status_code == 422 and error_code(resp) == "promo_invalid"
    assert resp.get_json()["error"]["details"]["reason"] == reason
    db.session.expire_all()
    assert db.session.get(GameSlot, w.slots[0].id).booked_count == 0


def test_unknown_promo_is_invalid(client):
    w = make_world()
    resp = post(client, w, promo_code="NOPE")
    assert resp.status_code == 422 and error_code(resp) == "promo_invalid"
    assert_nothing_booked(w)


def test_promo_scoped_to_other_event_is_invalid(client):
    w = make_world()
    other = make_world()
    make_promo("ONLYTHERE", event_ids=[other.event.id])
    resp = post(client, w, promo_code="ONLYTHERE")
    assert resp.status_code == 422 and error_code(resp) == "promo_invalid"
    assert resp.get_json()["error"]["details"]["reason"] == "event_scope"
    assert_nothing_booked(w)


def test_game_scoped_promo_discounts_only_its_games(client):
    w = make_world(template_price=50000)
    other_template = GameTemplateFactory(min_age_months=12, max_age_months=48, default_price=30000)
    # At 11:00, after the first game: a child plays one game at a time (slot_overlap).
    other_slot = GameSlotFactory(event_game=EventGameFactory(event=w.event, template=other_template),
                                 start_time=time(11, 0), end_time=time(11, 30))
    variant = add_variant(w.event, price=10000)
    make_promo("RUN", kind="percent", value=50, game_template_ids=[other_template.id])
    child = w.children[0]
    b = post(client, w, [{"child_id": child.id, "slot_id": w.slots[0].id},
                         {"child_id": child.id, "slot_id": other_slot.id}],
             addons=[{"addon_id": variant.addon_id, "variant_id": variant.id, "quantity": 1}],
             promo_code="RUN").get_json()["booking"]
    assert b["subtotal"] == 50000 + 30000 + 10000
    assert b["discount"] == 15000
    resp = post(client, w, [{"child_id": w.children[1].id, "slot_id": w.slots[0].id}], promo_code="RUN")
    assert resp.status_code == 422 and resp.get_json()["error"]["details"]["reason"] == "game_scope"


def test_per_user_limit_counts_live_bookings(client):
    w = make_world()
    make_promo("ONCE", per_user_limit=1)
    first = post(client, w, promo_code="ONCE")
    assert first.status_code == 201
    resp = post(client, w, [{"child_id": w.children[1].id, "slot_id": w.slots[0].id}], promo_code="ONCE")
    assert resp.status_code == 409 and error_code(resp) == "promo_exhausted"
    # Cancelling gives the use back.
    client.put(f"/api/bookings/{first.get_json()['booking']['id']}/cancel", json={},
               headers=auth_headers(w.parent))
    resp = post(client, w, [{"child_id": w.children[1].id, "slot_id": w.slots[0].id}], promo_code="ONCE")
    assert resp.status_code == 201


def test_max_uses_exhausted(client):
    w = make_world()
    make_promo("TWO", max_uses=1)
    assert post(client, w, promo_code="TWO").status_code == 201
    resp = post(client, w, [{"child_id": w.children[1].id, "slot_id": w.slots[0].id}], promo_code="TWO")
    assert resp.status_code == 409 and error_code(resp) == "promo_exhausted"
    db.session.expire_all()
    assert db.session.scalar(select(PromoCode.used_count).where(PromoCode.code == "TWO")) == 1
    assert db.session.get(GameSlot, w.slots[0].id).booked_count == 1  # the first booking only


def test_validate_promo_previews_without_consuming(client):
    w = make_world(template_price=79900)
    promo = make_promo("PEEK", value=10, max_uses=1)
    body = {"code": "peek", "event_id": w.event.id,
            "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}], "addons": []}
    for _ in range(3):
        resp = client.post("/api/bookings/validate-promo", json=body, headers=auth_headers(w.parent))
        assert resp.get_json() == {"valid": True, "discount": 7990, "subtotal": 79900, "total": 71910,
                                   "currency": "INR", "message": "Promo code applied", "code": None}
    db.session.expire_all()
    assert db.session.get(PromoCode, promo.id).used_count == 0
    bad = client.post("/api/bookings/validate-promo", json={**body, "code": "NOPE"},
                      headers=auth_headers(w.parent)).get_json()
    assert bad["valid"] is False and bad["discount"] == 0 and bad["total"] == 79900
    assert bad["currency"] == "INR"
    assert bad["message"]


def test_validate_promo_reports_used_up_code(client):
    w = make_world()
    make_promo("GONE", max_uses=1)
    post(client, w, promo_code="GONE")
    body = {"code": "GONE", "event_id": w.event.id,
            "items": [{"child_id": w.children[1].id, "slot_id": w.slots[0].id}]}
    out = client.post("/api/bookings/validate-promo", json=body, headers=auth_headers(w.parent)).get_json()
    assert out["valid"] is False and out["code"] == "promo_exhausted"
    assert db.session.scalar(select(PromoCode.used_count)) == 1


def test_guest_previews_a_promo_without_children(client):
    w = make_world(template_price=79900)
    make_promo("GUEST5", kind="fixed", value=5000)
    out = client.post("/api/bookings/validate-promo", json={
        "code": "GUEST5", "event_id": w.event.id, "items": [{"slot_id": w.slots[0].id}]}).get_json()
    assert out["valid"] is True and out["discount"] == 5000 and out["total"] == 74900
