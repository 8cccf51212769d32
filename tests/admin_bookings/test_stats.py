from datetime import timedelta

from nibog.core.timeutil import today_ist, utcnow
from tests.factories import (
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    UserFactory,
    make_booking,
    pay,
)
from tests.helpers import auth_headers


def test_stats_count_only_what_was_sold_and_kept(client):
    event = EventFactory(event_date=today_ist() + timedelta(days=10))
    slot = GameSlotFactory(event_game=EventGameFactory(event=event), capacity=10)
    other_slot = GameSlotFactory(event_game=EventGameFactory(event=event), capacity=10)
    EventFactory(status="draft")  # not counted anywhere
    past = EventFactory(event_date=today_ist() - timedelta(days=3))
    GameSlotFactory(event_game=EventGameFactory(event=past), capacity=20)
    parent = UserFactory()
    kids = [ChildFactory(parent=parent) for _ in range(6)]

    paid = make_booking(parent, [(kids[0], slot), (kids[1], slot)])  # 2 seats, 159800
    pay(paid)
    make_booking(parent, [(kids[2], slot)], status="pending_payment")  # a hold: not sold
    make_booking(parent, [(kids[3], slot)], status="expired")
    refunded = make_booking(parent, [(kids[4], other_slot)], status="cancelled")
    pay(refunded, refunded=79900)  # paid then fully refunded: no revenue left
    make_booking(parent, [(kids[5], other_slot)], payment_mode="cash", price=50000)
    yesterday = make_booking(parent, [(kids[0], other_slot)])
    pay(yesterday, captured_at=utcnow() - timedelta(days=2))

    resp = client.get("/api/admin/dashboard/stats", headers=auth_headers(UserFactory(role="staff")))
    assert resp.status_code == 200
    stats = resp.get_json()
    assert stats["bookings_total"] == 3
    assert stats["bookings_today"] == 3  # created today, whenever paid
    assert stats["bookings_pending"] == 1
    assert stats["bookings_cancelled"] == 1 and stats["bookings_expired"] == 1
    assert stats["revenue_total"] == 159800 + 50000 + 79900
    assert stats["revenue_today"] == 159800 + 50000
    assert stats["seats_sold"] == 4
    assert stats["seats_held"] == 1
    assert stats["seats_total"] == 40
    assert stats["fill_rate"] == 10.0
    assert stats["upcoming_events"] == 1
    assert stats["currency"] == "INR"


def test_failed_refund_keeps_the_revenue(client):
    event = EventFactory()
    slot = GameSlotFactory(event_game=EventGameFactory(event=event))
    parent = UserFactory()
    booking = make_booking(parent, [(ChildFactory(parent=parent), slot)], status="cancelled")
    pay(booking, refunded=79900, refund_status="failed")
    stats = client.get(
        "/api/admin/dashboard/stats", headers=auth_headers(UserFactory(role="admin"))
    ).get_json()
    assert stats["revenue_total"] == 79900


def test_stats_need_staff(client):
    assert client.get("/api/admin/dashboard/stats").status_code == 401
    assert (
        client.get("/api/admin/dashboard/stats", headers=auth_headers(UserFactory())).status_code
        == 403
    )


def test_admin_detail_shows_payments_and_refunds(client):
    event = EventFactory()
    slot = GameSlotFactory(event_game=EventGameFactory(event=event))
    parent = UserFactory()
    booking = make_booking(parent, [(ChildFactory(parent=parent), slot)], status="cancelled")
    pay(booking, refunded=79900)
    detail = client.get(
        f"/api/admin/bookings/{booking.id}", headers=auth_headers(UserFactory(role="staff"))
    ).get_json()
    assert detail["payments"][0]["amount"] == 79900
    assert detail["payments"][0]["refunds"][0]["amount"] == 79900
    assert detail["user"]["id"] == parent.id
