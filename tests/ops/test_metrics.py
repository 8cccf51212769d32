"""/metrics: who may read it, and that what parents and gateways do shows up in it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from nibog.booking.service import cancel_booking, create_booking, expire_holds
from nibog.core import boundary
from nibog.core.models import OutboxJob
from nibog.core.timeutil import utcnow
from nibog.extensions import db
from nibog.payments.models import Payment
from tests.booking.world import make_world
from tests.helpers import auth_headers
from tests.ops.support import Delta, sample, scrape, series
from tests.payments.support import make_booking, open_payment, post_webhook, webhook_for


def test_only_configured_networks_or_the_token_may_read(client, app):
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1
    outside = {"REMOTE_ADDR": "203.0.113.7"}
    refused = client.get("/metrics", environ_base=outside)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["code"] == "forbidden"
    app.config["METRICS_TOKEN"] = "scrape-secret-123"
    try:
        assert client.get("/metrics", environ_base=outside,
                          headers={"Authorization": "Bearer scrape-secret-123"}).status_code == 200
        assert client.get("/metrics", environ_base=outside,
                          headers={"Authorization": "Bearer wrong"}).status_code == 403
    finally:
        app.config["METRICS_TOKEN"] = ""
    app.config["METRICS_ALLOWED_NETWORKS"] = "10.0.0.0/8"
    try:
        assert client.get("/metrics").status_code == 403
        assert client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    finally:
        app.config["METRICS_ALLOWED_NETWORKS"] = "127.0.0.1/32,::1/128"


def test_requests_are_counted_by_route_template_never_by_path(client):
    w = make_world()
    route = "/api/events/<int:event_id>"
    with Delta(client, "nibog_http_requests_total", route=route, method="GET", status="200") as d:
        assert client.get(f"/api/events/{w.event.id}").status_code == 200
        assert client.get(f"/api/events/{w.event.id}?secret=1").status_code == 200
    assert d.value == 2
    client.get("/no/such/page/9876543210")
    text = scrape(client)
    assert sample(text, "nibog_http_request_duration_seconds_count", route=route, method="GET") >= 2
    routes = {labels.get("route") for labels in series(text, "nibog_http_requests_total")}
    assert "<unmatched>" in routes
    assert not any("9876543210" in r or str(w.event.id) in r for r in routes if r)


@pytest.mark.commits  # the scrape reads the state on a connection of its own
def test_bookings_count_once_committed(client, app):
    w = make_world(capacity=1)
    with Delta(client, "nibog_bookings_total", status="held") as held:
        resp = client.post("/api/bookings", headers=auth_headers(w.parent), json={
            "event_id": w.event.id,
            "items": [{"child_id": w.children[0].id, "slot_id": w.slots[0].id}],
        })
        assert resp.status_code == 201, resp.get_json()
        # The slot is full now: refused, rolled back, not counted.
        full = client.post("/api/bookings", headers=auth_headers(w.parent), json={
            "event_id": w.event.id,
            "items": [{"child_id": w.children[1].id, "slot_id": w.slots[0].id}],
        })
        assert full.status_code == 409
        # Held inside a transaction that rolls back: not counted either.
        create_booking(user_id=w.parent.id, event_id=w.event.id, items=[
            {"child_id": w.children[1].id, "slot_id": w.slots[1].id}], addons=[],
            promo_code=None, source="app")
        boundary.rollback()
    assert held.value == 1
    booking_id = resp.get_json()["booking"]["id"]

    with Delta(client, "nibog_bookings_total", status="cancelled") as cancelled:
        cancel_booking(booking_id, actor_id=w.parent.id)
        boundary.commit()
    assert cancelled.value == 1

    create_booking(user_id=w.parent.id, event_id=w.event.id, items=[
        {"child_id": w.children[1].id, "slot_id": w.slots[1].id}], addons=[],
        promo_code=None, source="app")
    boundary.commit()
    with Delta(client, "nibog_bookings_total", status="expired") as expired:
        later = utcnow() + timedelta(seconds=app.config["BOOKING_HOLD_SECONDS"] + 1)
        assert expire_holds(now=later) == 1
        boundary.commit()
    assert expired.value == 1
    text = scrape(client)
    assert sample(text, "nibog_bookings_by_status", status="cancelled") == 1
    assert sample(text, "nibog_bookings_by_status", status="expired") == 1
    assert sample(text, "nibog_event_seats_taken", event_id=str(w.event.id)) == 0
    assert sample(text, "nibog_event_seats_capacity", event_id=str(w.event.id)) == 2


def test_payments_by_gateway_and_bad_webhook_signatures(client, app, parent):
    booking = make_booking(parent)
    with Delta(client, "nibog_payments_total", gateway="sandbox", status="created") as created:
        order = open_payment(client, parent, booking)
    assert created.value == 1
    from nibog.payments.gateways.sandbox import SandboxGateway

    gateway = SandboxGateway(app.config)
    paid = gateway.simulate_payment(order["provider_order_id"])
    body, headers = webhook_for(app, "payment.captured", paid["payment"])
    route = "/webhooks/payment/success"
    with Delta(client, "nibog_webhook_verification_failures_total", route=route) as rejected:
        forged = dict(headers, **{"X-Razorpay-Signature": "0" * 64})
        assert post_webhook(client, body, forged).status_code == 401
    assert rejected.value == 1
    with Delta(client, "nibog_payments_total", gateway="sandbox", status="captured") as captured, \
            Delta(client, "nibog_bookings_total", status="confirmed") as confirmed:
        assert post_webhook(client, body, headers).status_code == 200
    assert captured.value == 1 and confirmed.value == 1


def test_rate_limit_refusals_are_counted(client, app):
    route = "/api/auth/login"
    with Delta(client, "nibog_rate_limit_refusals_total", route=route) as refused:
        statuses = [
            client.post(route, json={"email": "nobody@example.com", "password": "wrong-pass"},
                        environ_base={"REMOTE_ADDR": "198.51.100.9"}).status_code
            for _ in range(25)
        ]
    assert 429 in statuses
    assert refused.value == statuses.count(429)


def test_cache_hits_and_misses(client):
    w = make_world()
    with Delta(client, "nibog_cache_lookups_total", cache="redis", result="hit") as hits, \
            Delta(client, "nibog_cache_lookups_total", cache="redis", result="miss") as misses:
        client.get(f"/api/events/{w.event.id}")
        client.get(f"/api/events/{w.event.id}")
    assert misses.value >= 1 and hits.value >= 1


@pytest.mark.commits  # the scrape reads the state on a connection of its own
def test_state_gauges_show_outbox_lag_stuck_payments_and_failed_jobs(client, app, parent):
    db.session.execute(insert(OutboxJob).values(
        queue="default", func="nibog.core.housekeeping.purge_expired", args=[],
        created_at=utcnow() - timedelta(minutes=10),
    ))
    booking = make_booking(parent)
    db.session.add(Payment(booking_id=booking.id, user_id=parent.id, provider="sandbox",
                           provider_order_id="order_stuck", amount=booking.total, status="created"))
    db.session.commit()
    db.session.execute(update(Payment).values(created_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    from rq import Queue
    from rq.registry import FailedJobRegistry

    from nibog.extensions import get_redis

    queue = Queue("notifications", connection=get_redis())
    job = queue.enqueue_call(func="nibog.core.housekeeping.purge_expired")
    FailedJobRegistry(queue=queue).add(job, ttl=60, exc_string="boom")

    text = scrape(client)
    assert sample(text, "nibog_outbox_pending_jobs") == 1
    assert 590 <= sample(text, "nibog_outbox_lag_seconds") < 3600
    assert sample(text, "nibog_payments_stuck") == 1
    assert sample(text, "nibog_queue_failed_jobs", queue="notifications") == 1
    assert sample(text, "nibog_queue_depth", queue="notifications") == 1
    assert sample(text, "nibog_metrics_state_errors") == 0


@pytest.mark.commits  # the scrape reads the state on a connection of its own
def test_state_is_shared_for_its_lifetime(client, app):
    app.config["METRICS_STATE_SECONDS"] = 30
    try:
        assert sample(scrape(client), "nibog_outbox_pending_jobs") == 0
        db.session.execute(insert(OutboxJob).values(queue="default", func="x.y", args=[]))
        db.session.commit()
        # Another scrape within the lifetime (any instance) reads the shared figures.
        assert sample(scrape(client), "nibog_outbox_pending_jobs") == 0
    finally:
        app.config["METRICS_STATE_SECONDS"] = 0.0
    assert sample(scrape(client), "nibog_outbox_pending_jobs") == 1
