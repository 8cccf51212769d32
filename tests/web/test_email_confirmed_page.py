"""The landing of the e-mail verification link in a browser: on the site's layout, in the
visitor's language, and stable under a reload or a language switch (the link works once)."""

from __future__ import annotations

from urllib.parse import urlparse

from nibog.auth import service as auth_service
from nibog.core import boundary
from tests.auth.support import make_user
from tests.web.support import hindi, html

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def emailed_link(outbox, email="meera@example.com") -> str:
    user = make_user(email=email, email_verified=False)
    auth_service.request_email_verification(user)
    boundary.commit()
    url = urlparse(outbox.last("verify_email")[1]["verify_url"])
    return f"{url.path}?{url.query}"


def test_the_link_confirms_then_lands_on_a_page_that_survives_a_reload(client, outbox):
    link = emailed_link(outbox)
    resp = client.get(link, headers=BROWSER)
    landing = urlparse(resp.headers["Location"])
    assert resp.status_code == 303 and landing.path == "/email-confirmed"
    landing = f"{landing.path}?{landing.query}"
    page = client.get(landing)
    text = html(page)
    assert page.status_code == 200 and 'data-state="done"' in text
    assert "meera@example.com is confirmed as your NIBOG address" in text
    assert 'class="site-header"' in text and "/static/nibog.css?v=" in text
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    # The language switch and a reload show the same, without spending the link again.
    assert f'name="next" value="{landing}"' in text
    switch = client.post("/language", data={"lang": "hi", "next": landing})
    again = html(client.get(switch.headers["Location"]))
    assert '<html lang="hi">' in again and "meera@example.com" in again
    assert "पक्का" in again


def test_a_used_or_forged_link_says_so_in_the_visitors_language(client, outbox):
    link = emailed_link(outbox)
    client.get(link, headers=BROWSER)
    used = client.get(link, headers=BROWSER)
    assert used.status_code == 400 and 'data-state="bad_link"' in html(used)
    assert "already been used" in html(used)
    assert used.headers["Cache-Control"] == "no-store"
    assert used.headers["Referrer-Policy"] == "no-referrer"
    # An address under /api, yet a page: it gets the site's page headers.
    assert "frame-ancestors 'none'" in used.headers["Content-Security-Policy"]
    hindi(client)
    forged = client.get("/api/auth/verify-email?token=forged", headers=BROWSER)
    text = html(forged)
    assert forged.status_code == 400 and '<html lang="hi">' in text
    assert "यह लिंक पहले ही इस्तेमाल हो चुका है" in text and "not valid" not in text
    assert "इस लिंक से आपका पता पक्का नहीं हो सकता" in text


def test_the_landing_in_hindi(client, outbox):
    link = emailed_link(outbox)
    hindi(client)
    page = html(client.get(link, headers=BROWSER, follow_redirects=True))
    assert '<html lang="hi">' in page and "ई-मेल पता पक्का हो गया" in page
    assert "Email address confirmed" not in page


def test_the_landing_without_a_genuine_confirmation_goes_home(client):
    for path in ("/email-confirmed", "/email-confirmed?t=meera@example.com",
                 "/email-confirmed?t=InNvbWVvbmVAZXhhbXBsZS5jb20i.aaaaaa.bbbbbbbb"):
        resp = client.get(path)
        assert resp.status_code == 302 and urlparse(resp.headers["Location"]).path == "/"
