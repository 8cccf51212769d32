"""People pages: the accounts list, a parent's page, role changes and deactivation."""

from __future__ import annotations

from flask import g
from sqlalchemy import select

from nibog.accounts.models import User
from nibog.core.audit import AuditLog
from nibog.extensions import db
from tests.booking.world import make_world
from tests.factories import UserFactory, make_booking
from tests.helpers import html, sign_in


def reload_user(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def test_users_list_searches_and_filters_by_role_and_state(admin_client):
    UserFactory(full_name="Lakshmi Menon", email="lakshmi@example.com")
    UserFactory(full_name="Staff Person", role="staff")
    UserFactory(full_name="Gone Parent", is_active_account=False)
    body = html(admin_client.get("/admin/users?q=laksh"))
    assert "Lakshmi Menon" in body and "Staff Person" not in body
    body = html(admin_client.get("/admin/users?role=staff"))
    assert "Staff Person" in body and "Lakshmi Menon" not in body
    body = html(admin_client.get("/admin/users?active=0"))
    assert "Gone Parent" in body and "Lakshmi Menon" not in body
    body = html(admin_client.get("/admin/users?sort=name&dir=asc"))
    assert body.index("Gone Parent") < body.index("Lakshmi Menon")


def test_parent_page_lists_children_and_bookings(staff_client):
    world = make_world()
    booking = make_booking(world.parent, [(world.children[0], world.slots[0])])
    body = html(staff_client.get(f"/admin/users/{world.parent.id}"))
    assert world.children[0].full_name in body and world.children[1].full_name in body
    assert booking.booking_number in body
    assert "Only an administrator can change roles" in body


def test_admin_changes_a_role_and_it_applies_at_the_next_request(app, admin_client, admin_user):
    person = UserFactory(role="staff")
    resp = admin_client.post(f"/admin/users/{person.id}/role", data={"role": "parent"})
    assert resp.status_code == 302
    assert reload_user(person.id).role == "parent"
    [row] = db.session.scalars(select(AuditLog).where(AuditLog.action == "user.update"))
    assert row.before["role"] == "staff" and row.after["role"] == "parent"
    assert row.actor_id == admin_user.id
    # The demoted staff member's session no longer opens the dashboard.
    with app.app_context():
        demoted = app.test_client()
        sign_in(demoted, person)
        assert demoted.get("/admin/bookings").status_code == 403


def test_admin_cannot_demote_or_deactivate_themselves(admin_client, admin_user):
    resp = admin_client.post(f"/admin/users/{admin_user.id}/role", data={"role": "parent"})
    assert resp.status_code == 409
    assert "You cannot change your own role" in html(resp)
    resp = admin_client.post(f"/admin/users/{admin_user.id}/deactivate")
    assert resp.status_code == 409
    assert reload_user(admin_user.id).role == "admin" and reload_user(admin_user.id).is_active


def test_deactivate_and_reactivate(admin_client):
    person = UserFactory()
    assert admin_client.post(f"/admin/users/{person.id}/deactivate").status_code == 302
    assert not reload_user(person.id).is_active
    assert admin_client.post(f"/admin/users/{person.id}/reactivate").status_code == 302
    assert reload_user(person.id).is_active


def test_an_unknown_role_is_refused_at_the_field(admin_client):
    person = UserFactory()
    resp = admin_client.post(f"/admin/users/{person.id}/role", data={"role": "superuser"})
    assert resp.status_code == 422
    assert 'aria-invalid="true"' in html(resp)
    assert reload_user(person.id).role == "parent"


def test_staff_cannot_change_accounts(staff_client):
    person = UserFactory()
    assert staff_client.post(f"/admin/users/{person.id}/deactivate").status_code == 403
    assert staff_client.post(f"/admin/users/{person.id}/role",
                             data={"role": "admin"}).status_code == 403
    g.pop("_login_user", None)
    assert reload_user(person.id).is_active and reload_user(person.id).role == "parent"
