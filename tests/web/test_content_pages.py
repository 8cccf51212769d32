"""About, terms, privacy, refund policy, FAQ and the contact form, from the content service."""

from __future__ import annotations

import pytest

from nibog.content.models import ContactMessage, ContentPage, Faq
from nibog.core import boundary
from nibog.extensions import db
from tests.web.support import csrf_on, csrf_token, hindi, html, sign_in

SLUGS = ["about", "terms", "privacy", "refund-policy"]


@pytest.fixture
def pages():
    for slug in SLUGS:
        db.session.add(ContentPage(slug=slug, title=f"Title of {slug}",
                                   body_html=f"<p>Body of {slug}</p>"))
    db.session.add(Faq(question="Can I cancel?", answer="Yes, up to 48 hours before."))
    boundary.commit()


@pytest.mark.parametrize("slug", SLUGS)
def test_content_pages_render_from_the_content_service(client, pages, slug):
    resp = client.get(f"/{slug}")
    assert resp.status_code == 200
    page = html(resp)
    assert f"Title of {slug}" in page and f"<p>Body of {slug}</p>" in page


def test_a_page_not_written_yet_is_404(client):
    assert client.get("/about").status_code == 404


def test_staff_html_is_cleaned_of_scripts(client):
    db.session.add(ContentPage(slug="about", title="About", body_html=(
        '<p onclick="steal()">Hi</p><script>steal()</script><a href="javascript:steal()">x</a>')))
    boundary.commit()
    page = html(client.get("/about"))
    assert "steal()" not in page and "<p>Hi</p>" in page


def test_a_hindi_version_of_a_page_is_shown_to_hindi_readers(client, pages):
    db.session.add(ContentPage(slug="about-hi", title="हमारे बारे में", body_html="<p>नमस्ते</p>"))
    boundary.commit()
    hindi(client)
    assert "हमारे बारे में" in html(client.get("/about"))
    assert "Title of terms" in html(client.get("/terms"))  # no Hindi one: the page itself


def test_faq_lists_published_questions(client, pages):
    db.session.add(Faq(question="Hidden?", answer="x", is_published=False))
    boundary.commit()
    page = html(client.get("/faq"))
    assert "Can I cancel?" in page and "Yes, up to 48 hours before." in page
    assert "Hidden?" not in page
    hindi(client)
    assert "अक्सर पूछे जाने वाले सवाल" in html(client.get("/faq"))


def test_contact_form_stores_and_emails_staff(client, outbox, app):
    resp = client.post("/contact", data={"name": "Asha", "email": "asha@example.com",
                                         "message": "When is the next event in Pune?"})
    assert resp.status_code == 303
    msg = db.session.query(ContactMessage).one()
    assert (msg.name, msg.email) == ("Asha", "asha@example.com")
    to, ctx = outbox.last("contact_message")
    assert to == app.config["STAFF_NOTIFY_EMAIL"] and ctx["message"].startswith("When is")
    assert "Thank you!" in html(client.get("/contact"))


def test_contact_form_errors_keep_the_values(client):
    resp = client.post("/contact", data={"name": "A", "email": "nope", "phone": "abc",
                                         "message": "short"})
    assert resp.status_code == 422
    page = html(resp)
    for field in ("name", "email", "phone", "message"):
        assert f'id="{field}-error"' in page
    assert 'value="nope"' in page and "short</textarea>" in page
    assert db.session.query(ContactMessage).count() == 0


def test_contact_form_is_filled_in_for_a_signed_in_parent(client):
    user = sign_in(client, full_name="Ravi Kumar")
    page = html(client.get("/contact"))
    assert 'value="Ravi Kumar"' in page and f'value="{user.email}"' in page


def test_contact_form_refuses_a_post_without_its_csrf_token(client, app):
    data = {"name": "Asha", "email": "asha@example.com", "message": "Hello there, NIBOG!"}
    with csrf_on(app):
        assert client.post("/contact", data=data).status_code == 400
        token = csrf_token(html(client.get("/contact")))
        assert client.post("/contact", data={**data, "csrf_token": token}).status_code == 303
    assert db.session.query(ContactMessage).count() == 1


def test_contact_shares_the_apis_rate_limit(client):
    data = {"name": "Asha", "email": "asha@example.com", "message": "Hello there, NIBOG!"}
    for _ in range(3):
        assert client.post("/contact", data=data).status_code == 303
    for _ in range(2):
        assert client.post("/api/contact", json=data).status_code == 201
    assert client.post("/contact", data=data).status_code == 429
    assert client.post("/api/contact", json=data).status_code == 429
    assert db.session.query(ContactMessage).count() == 5
