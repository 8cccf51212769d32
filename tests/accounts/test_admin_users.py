"""/api/admin/users: roles, search and filters, detail, create, update, delete; audit log."""

from __future__ import annotations

import pytest

from nibog.accounts.models import User
from nibog.core.audit import AuditLog
from tests.auth.support import PASSWORD, bearer, login, make_booking, make_user
from tests.factories import ChildFactory
from tests.helpers import auth_headers, error_code

BASE = "/api/admin/users"


@pytest.fixture
def admin():
    return make_user(email="admin@nibog.in", role="admin", full_name="Admin")


def test_anonymous_is_401_parent_is_403_staff_reads_only(client):
    parent = make_user()
    staff = make_user(role="staff")
    assert client.get(BASE).status_code == 401
    resp = client.get(BASE, headers=auth_headers(parent))
    assert resp.status_code == 403 and error_code(resp) == "forbidden"
    assert client.get(f"{BASE}/{parent.id}", headers=auth_headers(parent)).status_code == 403
    assert client.get(BASE, headers=auth_headers(staff)).status_code == 200
    assert client.get(f"{BASE}/{parent.id}", headers=auth_headers(staff)).status_code == 200
    for resp in (
        client.post(
            BASE, headers=auth_headers(staff), json={"email": "x@example.com", "full_name": "X"}
        ),
        client.put(f"{BASE}/{parent.id}", headers=auth_headers(staff), json={"role": "admin"}),
        client.delete(f"{BASE}/{parent.id}", headers=auth_headers(staff)),
        client.post(BASE, json={"email": "x@example.com", "full_name": "X"}),
    ):
        assert resp.status_code in (401, 403)
    assert client.post(BASE, json={}).status_code == 401


def test_list_search_filters_and_pagination(client, admin):
    make_user(email="asha@example.com", full_name="Asha Rao")
    make_user(email="ravi@example.com", full_name="Ravi Kumar", role="staff")
    make_user(email="old@example.com", full_name="Old Account", is_active_account=False)
    h = auth_headers(admin)
    emails = lambda resp: {u["email"] for u in resp.get_json()["items"]}  # noqa: E731
    assert emails(client.get(f"{BASE}?q=ASHA", headers=h)) == {"asha@example.com"}
    assert emails(client.get(f"{BASE}?q=kumar", headers=h)) == {"ravi@example.com"}
    assert emails(client.get(f"{BASE}?role=staff", headers=h)) == {"ravi@example.com"}
    assert emails(client.get(f"{BASE}?is_active=false", headers=h)) == {"old@example.com"}
    assert "old@example.com" not in emails(client.get(f"{BASE}?is_active=true", headers=h))
    page = client.get(f"{BASE}?per_page=2&page=2", headers=h).get_json()
    assert page["total"] == 4 and page["pages"] == 2 and len(page["items"]) == 2
    assert client.get(f"{BASE}?q=%25", headers=h).get_json()["items"] == []  # "%" is literal
    assert client.get(f"{BASE}?role=wizard", headers=h).status_code == 422
    assert client.get(f"{BASE}?per_page=500", headers=h).status_code == 422


def test_detail_has_children_and_bookings(client, admin):
    parent = make_user()
    child = ChildFactory(parent=parent, full_name="Aarav")
    booking, _ = make_booking(parent, child)
    body = client.get(f"{BASE}/{parent.id}", headers=auth_headers(admin)).get_json()
    assert body["id"] == parent.id and body["is_active"] is True
    assert [c["full_name"] for c in body["children"]] == ["Aarav"]
    assert [b["booking_number"] for b in body["bookings"]] == [booking.booking_number]
    assert body["bookings"][0]["total"] == 79900
    assert client.get(f"{BASE}/999999", headers=auth_headers(admin)).status_code == 404


def test_create_user_is_audited(client, db, admin):
    resp = client.post(
        BASE,
        headers=auth_headers(admin),
        json={
            "email": "New.Staff@Example.com",
            "full_name": "New Staff",
            "role": "staff",
            "password": "staff-password-1",
            "phone": "+919855555555",
        },
    )
    assert resp.status_code == 201
    body = resp.get_json()
    assert body["email"] == "new.staff@example.com" and body["role"] == "staff"
    assert login(client, "new.staff@example.com", "staff-password-1").status_code == 200
    entry = db.session.query(AuditLog).filter_by(action="user.create").one()
    assert entry.actor_id == admin.id and entry.entity_id == str(body["id"])
    assert "password_hash" not in (entry.after or {})
    dup = client.post(
        BASE,
        headers=auth_headers(admin),
        json={"email": "new.staff@example.com", "full_name": "Again"},
    )
    assert dup.status_code == 409 and error_code(dup) == "email_taken"


def test_update_role_and_active_flag_takes_effect_at_once(client, db, admin):
    parent = make_user(email="meera@example.com")
    session = login(client, "meera@example.com").get_json()
    resp = client.put(
        f"{BASE}/{parent.id}",
        headers=auth_headers(admin),
        json={"role": "staff", "full_name": "Meera (staff)"},
    )
    assert resp.status_code == 200 and resp.get_json()["role"] == "staff"
    # Tokens carrying the old role are dead.
    assert client.get("/api/users/me", headers=bearer(session["access_token"])).status_code == 401
    session = login(client, "meera@example.com").get_json()
    assert session["user"]["role"] == "staff"

    resp = client.put(f"{BASE}/{parent.id}", headers=auth_headers(admin), json={"is_active": False})
    assert resp.status_code == 200 and resp.get_json()["is_active"] is False
    assert client.get("/api/users/me", headers=bearer(session["access_token"])).status_code == 401
    assert login(client, "meera@example.com").status_code == 401
    entry = db.session.query(AuditLog).filter_by(action="user.update").order_by(AuditLog.id).first()
    assert entry.before["role"] == "parent" and entry.after["role"] == "staff"


def test_admin_cannot_demote_or_deactivate_themselves(client, admin):
    for change in ({"role": "parent"}, {"is_active": False}):
        resp = client.put(f"{BASE}/{admin.id}", headers=auth_headers(admin), json=change)
        assert resp.status_code == 409 and error_code(resp) == "cannot_modify_self"
    me = client.get(f"{BASE}/{admin.id}", headers=auth_headers(admin)).get_json()
    assert (me["role"], me["is_active"]) == ("admin", True)


def test_delete_deactivates_and_anonymises(client, db, admin):
    parent = make_user(email="meera@example.com")
    child = ChildFactory(parent=parent)
    paid, _ = make_booking(parent, child, status="confirmed")
    session = login(client, "meera@example.com", PASSWORD).get_json()
    assert client.delete(f"{BASE}/{parent.id}", headers=auth_headers(admin)).status_code == 204
    assert client.get("/api/users/me", headers=bearer(session["access_token"])).status_code == 401
    db.session.expire_all()
    gone = db.session.get(User, parent.id)
    assert gone.email is None and not gone.is_active and gone.full_name == "Deleted user"
    detail = client.get(f"{BASE}/{parent.id}", headers=auth_headers(admin)).get_json()
    assert [b["id"] for b in detail["bookings"]] == [paid.id]  # kept for accounting
    assert db.session.query(AuditLog).filter_by(action="user.delete").one().before["email"] == (
        "meera@example.com"
    )
