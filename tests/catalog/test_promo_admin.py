"""Admin promo codes: create with scopes, uniqueness, validation, guards, roles, audit."""

from __future__ import annotations

import sqlalchemy as sa

from nibog.booking.models import PromoCode
from nibog.core.audit import AuditLog
from nibog.extensions import db
from tests.factories import EventFactory, GameTemplateFactory
from tests.helpers import auth_headers, error_code


def test_promo_crud(client, admin_h, staff_h):
    event, template = EventFactory(), GameTemplateFactory()
    resp = client.post("/api/admin/promo-codes", headers=admin_h, json={
        "code": "early10", "kind": "percent", "value": 10, "max_uses": 100,
        "valid_from": "2026-12-01T00:00:00+05:30", "valid_until": "2026-12-31T23:59:00+05:30",
        "event_ids": [event.id], "game_template_ids": [template.id]})
    assert resp.status_code == 201, resp.get_json()
    promo = resp.get_json()
    assert promo["code"] == "EARLY10" and promo["used_count"] == 0
    assert promo["event_ids"] == [event.id] and promo["game_template_ids"] == [template.id]
    assert promo["valid_until"] == "2026-12-31T23:59:00+05:30"

    dup = client.post("/api/admin/promo-codes", headers=admin_h,
                      json={"code": "EARLY10", "kind": "fixed", "value": 5000})
    assert dup.status_code == 409 and error_code(dup) == "promo_code_taken"

    upd = client.put(f"/api/admin/promo-codes/{promo['id']}", headers=admin_h,
                     json={"event_ids": [], "is_active": False})
    assert upd.get_json()["event_ids"] == [] and upd.get_json()["is_active"] is False
    assert upd.get_json()["game_template_ids"] == [template.id]  # untouched scope stays

    listed = client.get("/api/admin/promo-codes?q=early", headers=staff_h).get_json()
    assert listed["total"] == 1
    assert client.get(f"/api/admin/promo-codes/{promo['id']}", headers=staff_h).status_code == 200
    assert client.delete(f"/api/admin/promo-codes/{promo['id']}", headers=admin_h).status_code == 204
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["promo_code.create", "promo_code.update", "promo_code.delete"]


def test_promo_validation(client, admin_h):
    def post(**body):
        return client.post("/api/admin/promo-codes", headers=admin_h,
                           json={"code": "X1Y2", "kind": "percent", "value": 10, **body})

    assert post(value=150).status_code == 422
    assert post(kind="bogus").status_code == 422
    assert post(code="has space").status_code == 422
    assert post(valid_from="2026-12-31T00:00:00+05:30",
                valid_until="2026-12-01T00:00:00+05:30").status_code == 422
    assert "event_ids" in post(event_ids=[424242]).get_json()["error"]["details"]
    assert db.session.scalar(sa.select(sa.func.count(PromoCode.id))) == 0


def test_used_promo_is_deactivated_not_deleted(client, admin_h):
    promo = client.post("/api/admin/promo-codes", headers=admin_h,
                        json={"code": "USED", "kind": "fixed", "value": 1000, "max_uses": 5}
                        ).get_json()
    db.session.execute(sa.update(PromoCode).values(used_count=3))
    db.session.commit()
    resp = client.delete(f"/api/admin/promo-codes/{promo['id']}", headers=admin_h)
    assert resp.status_code == 409 and error_code(resp) == "promo_code_in_use"
    lower = client.put(f"/api/admin/promo-codes/{promo['id']}", headers=admin_h,
                       json={"max_uses": 2})
    assert lower.status_code == 409 and error_code(lower) == "max_uses_below_used"
    db.session.expire_all()
    kept = db.session.get(PromoCode, promo["id"])
    assert (kept.max_uses, kept.used_count) == (5, 3)


def test_promo_roles(client, staff_h, parent):
    body = {"code": "ROLE", "kind": "fixed", "value": 100}
    assert client.get("/api/admin/promo-codes").status_code == 401
    assert client.get("/api/admin/promo-codes", headers=auth_headers(parent)).status_code == 403
    assert client.post("/api/admin/promo-codes", json=body, headers=staff_h).status_code == 403
    assert client.post("/api/admin/promo-codes", json=body,
                       headers=auth_headers(parent)).status_code == 403
