"""Promo codes: percent and rupee values, scopes, limits, and the service's refusals."""

from __future__ import annotations

from sqlalchemy import select

from nibog.booking.models import PromoCode, promo_code_events
from nibog.core.audit import AuditLog
from nibog.extensions import db
from tests.factories import EventFactory
from tests.helpers import html


def promo(**over):
    data = {"code": "diwali10", "description": "Diwali", "kind": "percent", "value": "10",
            "max_discount": "200", "min_total": "", "max_uses": "100", "per_user_limit": "",
            "valid_from": "2030-10-01T00:00", "valid_until": "2030-11-01T00:00",
            "is_active": "y"}
    data.update(over)
    return data


def test_create_percent_code_scoped_to_an_event(admin_client):
    event = EventFactory()
    response = admin_client.post("/admin/promo-codes/new",
                                 data=promo(event_ids=[str(event.id)]))
    assert response.status_code == 302, html(response)
    code = db.session.scalar(select(PromoCode))
    assert (code.code, code.kind, code.value, code.max_discount) == ("DIWALI10", "percent", 10,
                                                                     20000)
    assert code.valid_from.hour == 18 and code.valid_from.minute == 30  # midnight IST in UTC
    assert db.session.execute(select(promo_code_events.c.event_id)).scalars().all() == [event.id]
    assert db.session.scalar(select(AuditLog.action)) == "promo_code.create"
    listed = html(admin_client.get("/admin/promo-codes"))
    assert "DIWALI10" in listed and "10%" in listed
    edit = html(admin_client.get(f"/admin/promo-codes/{code.id}"))
    assert 'value="2030-10-01T00:00"' in edit and 'value="200.00"' in edit


def test_fixed_code_in_rupees(admin_client):
    admin_client.post("/admin/promo-codes/new", data=promo(code="FLAT150", kind="fixed",
                                                           value="150.50", max_discount=""))
    code = db.session.scalar(select(PromoCode))
    assert (code.kind, code.value) == ("fixed", 15050)


def test_validation_errors(admin_client):
    bad = admin_client.post("/admin/promo-codes/new", data=promo(
        code="no spaces!", value="150", valid_until="2030-09-01T00:00"))
    assert bad.status_code == 422
    page = html(bad)
    assert "Letters, digits, - and _ only." in page
    assert "A percentage is a whole number from 1 to 100." in page
    assert "Must be after the start." in page
    admin_client.post("/admin/promo-codes/new", data=promo())
    taken = admin_client.post("/admin/promo-codes/new", data=promo(code="DIWALI10"))
    assert taken.status_code == 422 and "already exists" in html(taken)


def test_max_uses_below_used_is_refused(admin_client):
    admin_client.post("/admin/promo-codes/new", data=promo())
    code = db.session.scalar(select(PromoCode))
    code.used_count = 5
    db.session.commit()
    response = admin_client.post(f"/admin/promo-codes/{code.id}", data=promo(max_uses="3"))
    assert response.status_code == 422 and "already used 5 times" in html(response)
    refused = admin_client.post(f"/admin/promo-codes/{code.id}/delete")
    assert "deactivate it instead" in html(admin_client.get(refused.headers["Location"]))
