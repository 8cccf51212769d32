"""Public content endpoints, the contact form (validation, storage, staff email, rate limit),
and admin content management with cache invalidation."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from nibog.content import models as content_models
from nibog.content.models import ContactMessage, ContentPage, Faq
from nibog.core.audit import AuditLog
from nibog.extensions import db
from nibog.notifications.models import NotificationLog
from tests.factories import CityFactory, UserFactory
from tests.helpers import auth_headers, error_code


@pytest.fixture
def admin_h(app):
    return auth_headers(UserFactory(role="admin"))


def test_public_faqs_testimonials_cities(client):
    db.session.add_all([
        Faq(question="B?", answer="b", sort_order=2),
        Faq(question="A?", answer="a", sort_order=1, category="booking"),
        Faq(question="Hidden?", answer="x", is_published=False),
        content_models.Testimonial(author_name="Lakshmi", content="Loved it", rating=5),
        content_models.Testimonial(author_name="Arjun", content="Fun", is_featured=False),
        content_models.Testimonial(author_name="Draft", content="...", is_published=False),
    ])
    db.session.commit()
    CityFactory(name="Hyderabad")
    CityFactory(name="Old", is_active=False)
    assert [f["question"] for f in client.get("/api/faqs").get_json()] == ["A?", "B?"]
    assert [f["question"] for f in client.get("/api/faqs?category=booking").get_json()] == ["A?"]
    assert [t["author_name"] for t in client.get("/api/testimonials").get_json()] == [
        "Lakshmi", "Arjun"]
    assert [t["author_name"] for t in client.get("/api/testimonials?featured=true").get_json()] == [
        "Lakshmi"]
    assert [c["name"] for c in client.get("/api/cities").get_json()] == ["Hyderabad"]


def test_content_pages(client, admin_h):
    assert error_code(client.get("/api/content/about")) == "not_found"
    resp = client.put("/api/admin/content/about", headers=admin_h,
                      json={"title": "About NIBOG", "body_html": "<p>Games</p>"})
    assert resp.status_code == 200
    page = client.get("/api/content/about").get_json()
    assert page["slug"] == "about" and page["title"] == "About NIBOG"
    assert page["body_html"] == "<p>Games</p>" and page["updated_at"].endswith("+05:30")
    client.put("/api/admin/content/about", headers=admin_h, json={"body_html": "<p>New</p>"})
    assert client.get("/api/content/about").get_json()["body_html"] == "<p>New</p>"
    assert client.put("/api/admin/content/terms", headers=admin_h,
                      json={"body_html": "x"}).status_code == 422  # a new page needs a title
    assert client.put("/api/admin/content/Bad%20Slug", headers=admin_h,
                      json={"title": "x"}).status_code == 422
    assert client.delete("/api/admin/content/about", headers=admin_h).status_code == 204
    assert client.get("/api/content/about").status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(ContentPage.id))) == 0


def test_admin_faq_and_testimonial_writes_invalidate_the_public_cache(client, admin_h):
    assert client.get("/api/faqs").get_json() == []
    faq = client.post("/api/admin/faqs", headers=admin_h,
                      json={"question": "Refunds?", "answer": "48 hours"})
    assert faq.status_code == 201
    assert [f["question"] for f in client.get("/api/faqs").get_json()] == ["Refunds?"]
    client.put(f"/api/admin/faqs/{faq.get_json()['id']}", headers=admin_h,
               json={"is_published": False})
    assert client.get("/api/faqs").get_json() == []
    t = client.post("/api/admin/testimonials", headers=admin_h,
                    json={"author_name": "Priya", "content": "Great", "rating": 4})
    assert t.status_code == 201
    assert client.get("/api/testimonials").get_json()[0]["author_name"] == "Priya"
    assert client.post("/api/admin/testimonials", headers=admin_h,
                       json={"author_name": "X", "content": "Y", "rating": 9}).status_code == 422
    client.delete(f"/api/admin/testimonials/{t.get_json()['id']}", headers=admin_h)
    assert client.get("/api/testimonials").get_json() == []
    actions = db.session.scalars(sa.select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["faq.create", "faq.update", "testimonial.create", "testimonial.delete"]


def test_admin_content_lists_are_pages(client, admin_h):
    """Admin lists answer the contract's page envelope, like every other list."""
    for n in range(3):
        client.post("/api/admin/faqs", headers=admin_h,
                    json={"question": f"Q{n}?", "answer": "A", "sort_order": n})
    client.put("/api/admin/content/about-us", headers=admin_h,
               json={"title": "About", "body_html": "<p>Hi</p>"})
    page = client.get("/api/admin/faqs?per_page=2&page=2", headers=admin_h).get_json()
    assert (page["page"], page["per_page"], page["total"], page["pages"]) == (2, 2, 3, 2)
    assert [f["question"] for f in page["items"]] == ["Q2?"]
    assert client.get("/api/admin/testimonials", headers=admin_h).get_json()["total"] == 0
    pages = client.get("/api/admin/content", headers=admin_h).get_json()
    assert [p["slug"] for p in pages["items"]] == ["about-us"] and pages["total"] == 1
    assert client.get("/api/admin/faqs?per_page=101", headers=admin_h).status_code == 422


def test_admin_content_roles(client):
    staff_h = auth_headers(UserFactory(role="staff"))
    parent_h = auth_headers(UserFactory())
    assert client.get("/api/admin/faqs").status_code == 401
    assert client.get("/api/admin/faqs", headers=parent_h).status_code == 403
    assert client.get("/api/admin/faqs", headers=staff_h).status_code == 200
    body = {"question": "Q", "answer": "A"}
    assert client.post("/api/admin/faqs", json=body, headers=staff_h).status_code == 403
    assert client.put("/api/admin/content/about", json={"title": "T"},
                      headers=parent_h).status_code == 403


CONTACT = {"name": "Asha Rao", "email": "Asha@Example.com", "phone": "+919876543210",
           "message": "Do you run events in Pune?"}


def test_contact_is_stored_and_emailed_to_staff(client, app):
    resp = client.post("/api/contact", json=CONTACT)
    assert resp.status_code == 201
    msg = db.session.scalar(sa.select(ContactMessage))
    assert (msg.email, msg.status, msg.phone) == ("asha@example.com", "new", "+919876543210")
    note = db.session.scalar(sa.select(NotificationLog))
    assert note.template == "contact_message"
    assert note.recipient == app.config["STAFF_NOTIFY_EMAIL"]
    assert note.status == "sent"  # the queued job ran after the commit


@pytest.mark.parametrize(
    ("change", "field"),
    [({"email": "not-an-email"}, "email"), ({"message": "hi"}, "message"),
     ({"name": ""}, "name"), ({"phone": "call me"}, "phone"), ({"message": None}, "message")],
)
def test_contact_validation(client, change, field):
    resp = client.post("/api/contact", json={**CONTACT, **change})
    assert resp.status_code == 422
    assert field in resp.get_json()["error"]["details"]
    assert db.session.scalar(sa.select(sa.func.count(ContactMessage.id))) == 0


def test_contact_is_rate_limited_per_client(client):
    for _ in range(5):
        assert client.post("/api/contact", json=CONTACT).status_code == 201
    limited = client.post("/api/contact", json=CONTACT)
    assert limited.status_code == 429
    assert error_code(limited) == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    assert db.session.scalar(sa.select(sa.func.count(ContactMessage.id))) == 5
    other = client.post("/api/contact", json=CONTACT, environ_base={"REMOTE_ADDR": "10.9.9.9"})
    assert other.status_code == 201


@pytest.mark.commits  # a second admin in a thread of its own
def test_a_page_created_by_another_admin_meanwhile_is_updated_not_a_500(app, admin_h):
    """Two admins PUT the same new page at once: neither read a row to lock, so the second
    insert meets the first's unique slug. It becomes an update of that page (what the PUT would
    have done a moment later), not a server error."""
    import threading
    import time

    first = db.engine.connect()
    first_tx = first.begin()
    first.execute(sa.insert(ContentPage).values(slug="refund-policy", title="First draft",
                                                body_html="<p>1</p>"))
    answer = {}

    def second_admin():
        with app.app_context():
            answer["resp"] = app.test_client().put(
                "/api/admin/content/refund-policy", headers=admin_h,
                json={"title": "Refund policy", "body_html": "<p>2</p>"},
            )

    thread = threading.Thread(target=second_admin, daemon=True)
    thread.start()
    try:
        # Let the second PUT reach the insert that waits on the first admin's uncommitted row.
        deadline = time.monotonic() + 10
        with db.engine.connect() as probe:
            while time.monotonic() < deadline:
                waiting = probe.scalar(sa.text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND datname = current_database()"))
                if waiting:
                    break
                time.sleep(0.02)
        assert waiting, "the second PUT never waited on the first admin's insert"
        first_tx.commit()
    finally:
        first.close()
        thread.join(timeout=30)
    assert not thread.is_alive(), "the second PUT hung"
    resp = answer["resp"]
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["title"] == "Refund policy"
    pages = db.session.scalars(sa.select(ContentPage)).all()
    assert [(p.slug, p.title, p.body_html) for p in pages] == [
        ("refund-policy", "Refund policy", "<p>2</p>")]
