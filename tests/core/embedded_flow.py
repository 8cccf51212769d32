"""The main flows on the embedded default, run in a fresh process by test_embedded_default.

A separate process keeps this app's extensions (limiter storage, caches) from leaking into the
PostgreSQL test app. Exits non-zero with the failing response on any surprise.
"""

from __future__ import annotations

import sys
from datetime import date


def expect(resp, status: int):
    if resp.status_code != status:
        sys.exit(f"{resp.request.method} {resp.request.path}: {resp.status_code} "
                 f"{resp.get_data(as_text=True)[:2000]}")
    return resp.get_json()


def main() -> None:
    from nibog import create_app
    from nibog.core.timeutil import today_ist

    app = create_app({"TESTING": True, "RATELIMIT_ENABLED": False})
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"), "expected SQLite"
    assert app.config["REDIS_URL"] is None, "expected no Redis"
    c = app.test_client()

    ready = expect(c.get("/readyz"), 200)
    assert ready["checks"] == {"database": "ok", "redis": "not configured"}, ready
    events = expect(c.get("/api/events"), 200)
    assert events["total"] == 5, events["total"]
    event_id = events["items"][0]["id"]
    detail = expect(c.get(f"/api/events/{event_id}"), 200)

    reg = expect(c.post("/api/auth/register", json={
        "email": "asha@example.com", "password": "long-enough-pw", "full_name": "Asha Rao"}), 201)
    headers = {"Authorization": f"Bearer {reg['access_token']}"}

    game = next(g for g in detail["games"] if g["game"]["min_age_months"] >= 13)
    months = game["game"]["min_age_months"] + 2
    today = today_ist()
    y, m = divmod(today.year * 12 + today.month - 1 - months, 12)
    child = expect(c.post("/api/users/me/children", headers=headers, json={
        "full_name": "Anu", "date_of_birth": date(y, m + 1, 1).isoformat()}), 201)

    booking = expect(c.post("/api/bookings", headers=headers, json={
        "event_id": event_id,
        "items": [{"child_id": child["id"], "slot_id": game["slots"][0]["id"]}],
    }), 201)["booking"]
    assert booking["status"] == "pending_payment", booking
    expect(c.get(f"/api/bookings/{booking['id']}", headers=headers), 200)
    payment = expect(c.post("/api/payments/create", headers=headers,
                            json={"booking_id": booking["id"]}), 201)
    assert payment["amount"] == booking["total"], payment

    # Paid in the sandbox, as its checkout page does: the capture's SQLite path (PostgreSQL
    # captures in one statement, payments.statements).
    from nibog.payments.gateways import get_gateway

    with app.app_context():
        paid = get_gateway("sandbox").simulate_payment(payment["provider_order_id"])
    confirm = {"payment_id": payment["payment_id"], "provider_payment_id": paid["payment"]["id"],
               "signature": paid["signature"]}
    for _attempt in range(2):  # confirming twice is harmless
        done = expect(c.post("/api/payments/confirm", headers=headers, json=confirm), 200)
        assert (done["status"], done["booking_status"], done["provider_payment_id"]) == (
            "captured", "confirmed", paid["payment"]["id"]), done
        assert done["captured_at"] and done["method"] == "upi", done
        assert done["failure_reason"] is None, done
    booking = expect(c.get(f"/api/bookings/{booking['id']}", headers=headers), 200)["booking"]
    assert booking["status"] == "confirmed", booking
    # Support's record of the payment: opened, then captured once (the repeat changed nothing).
    from sqlalchemy import select

    from nibog.extensions import db
    from nibog.payments.models import PaymentStatusChange as H

    with app.app_context():
        history = db.session.execute(
            select(H.from_status, H.to_status, H.source, H.note)
            .where(H.payment_id == payment["payment_id"]).order_by(H.id)).all()
    assert [tuple(h) for h in history] == [
        (None, "created", "api", f"order {payment['provider_order_id']}"),
        ("created", "captured", "api", f"payment {paid['payment']['id']}"),
    ], history
    print("embedded flow ok")


if __name__ == "__main__":
    main()
