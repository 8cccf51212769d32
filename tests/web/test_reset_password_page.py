"""The page the password-reset e-mail links to: a browser sets the new password there, on the
site's layout and in the visitor's language."""

from __future__ import annotations

import re
from urllib.parse import urlparse

from tests.auth.support import PASSWORD, login, make_user
from tests.web.support import csrf_token, hindi

EMAIL = "meera@example.com"


def emailed_link(client, outbox):
    make_user(email=EMAIL)
    assert client.post("/api/auth/forgot-password", json={"email": EMAIL}).status_code == 202
    url = urlparse(outbox.last("password_reset")[1]["reset_url"])
    return f"{url.path}?{url.query}", re.search(r"token=([^&]+)", url.query).group(1)


def submit(client, token, password, confirm=None):
    return client.post("/reset-password", data={
        "token": token, "password": password,
        "confirm": password if confirm is None else confirm,
    })


def test_the_emailed_link_opens_a_form_and_sets_the_password(client, outbox):
    link, token = emailed_link(client, outbox)
    form = client.get(link)
    assert form.status_code == 200 and form.mimetype == "text/html"
    html = form.get_data(as_text=True)
    assert 'name="password"' in html and f'value="{token}"' in html
    assert form.headers["Cache-Control"] == "no-store"
    assert form.headers["Referrer-Policy"] == "no-referrer"

    done = submit(client, token, "fresh-password-1")
    assert done.status_code == 200
    assert 'data-state="done"' in done.get_data(as_text=True)
    assert login(client, EMAIL).status_code == 401
    assert login(client, EMAIL, "fresh-password-1").status_code == 200

    # Single use, like the API: the link is spent.
    again = client.get(link)
    assert again.status_code == 400 and 'data-state="bad_link"' in again.get_data(as_text=True)
    assert submit(client, token, "another-pass-2").status_code == 400
    assert login(client, EMAIL, "fresh-password-1").status_code == 200


def test_a_mistyped_or_short_password_is_asked_again_and_nothing_changes(client, outbox):
    _link, token = emailed_link(client, outbox)
    differ = submit(client, token, "fresh-password-1", confirm="fresh-password-2")
    assert differ.status_code == 422 and "differ" in differ.get_data(as_text=True)
    short = submit(client, token, "short")
    assert short.status_code == 422
    assert "8 to 128 characters" in short.get_data(as_text=True)
    # The form comes back with the token, and the old password still works.
    assert f'value="{token}"' in short.get_data(as_text=True)
    assert login(client, EMAIL, PASSWORD).status_code == 200


def test_a_broken_or_forged_link_says_so(client):
    missing = client.get("/reset-password")
    assert missing.status_code == 400 and "incomplete" in missing.get_data(as_text=True)
    forged = client.get("/reset-password?token=not-a-real-token")
    assert forged.status_code == 400 and 'data-state="bad_link"' in forged.get_data(as_text=True)
    assert 'name="password"' not in forged.get_data(as_text=True)


def test_the_form_needs_its_csrf_token(app, client, outbox):
    link, token = emailed_link(client, outbox)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = submit(client, token, "fresh-password-1")
        assert refused.status_code == 400
        assert login(client, EMAIL, PASSWORD).status_code == 200
        # The form's own token (bound to this browser's session) lets it through.
        html = client.get(link).get_data(as_text=True)
        csrf = csrf_token(html)
        done = client.post("/reset-password", data={
            "csrf_token": csrf, "token": token,
            "password": "fresh-password-1", "confirm": "fresh-password-1",
        })
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert done.status_code == 200 and 'data-state="done"' in done.get_data(as_text=True)
    assert login(client, EMAIL, "fresh-password-1").status_code == 200


def test_errors_stand_next_to_their_field_and_the_page_keeps_its_headers(client, outbox):
    _link, token = emailed_link(client, outbox)
    short = submit(client, token, "short", confirm="short")
    page = short.get_data(as_text=True)
    assert short.status_code == 422
    assert 'id="password-error"' in page and 'aria-describedby="password-hint password-error"' in page
    assert 'aria-invalid="true"' in page
    differ = submit(client, token, "fresh-password-1", confirm="fresh-password-2")
    assert 'id="confirm-error"' in differ.get_data(as_text=True)
    # A page carrying the token: out of caches, no Referer, on every answer.
    for resp in (short, differ):
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]


def test_the_page_is_the_sites_with_its_language_switch_keeping_the_link(client, outbox):
    link, token = emailed_link(client, outbox)
    page = client.get(link).get_data(as_text=True)
    assert 'class="site-header"' in page and "/static/nibog.css?v=" in page
    # Switching the language comes back to the link, token and all: the form still works.
    switch = client.post("/language", data={"lang": "hi", "next": re.search(
        r'name="next" value="(/reset-password[^"]*)"', page).group(1).replace("&amp;", "&")})
    assert switch.headers["Location"].endswith(f"/reset-password?token={token}")
    again = client.get(switch.headers["Location"])
    assert again.status_code == 200 and '<html lang="hi">' in again.get_data(as_text=True)


def test_the_reset_page_in_hindi(client, outbox):
    link, token = emailed_link(client, outbox)
    hindi(client)
    page = client.get(link).get_data(as_text=True)
    assert '<html lang="hi">' in page
    assert "नया पासवर्ड सेट करें" in page and "Set a new password" not in page
    differ = submit(client, token, "fresh-password-1", confirm="fresh-password-2")
    assert "दोनों पासवर्ड अलग हैं" in differ.get_data(as_text=True)
    done = submit(client, token, "fresh-password-1").get_data(as_text=True)
    assert 'data-state="done"' in done and "आपका पासवर्ड बदल गया है" in done
    used = client.get(link).get_data(as_text=True)
    assert "यह लिंक पहले ही इस्तेमाल हो चुका है" in used
    assert "already been used" not in used
    missing = client.get("/reset-password").get_data(as_text=True)
    assert "यह लिंक अधूरा है" in missing


def test_the_form_is_rate_limited_like_the_api(client, outbox, app):
    _link, token = emailed_link(client, outbox)
    limit = int(app.config["RATELIMIT_FORGOT_PASSWORD"].split()[0].split("/")[0])
    statuses = [submit(client, token, "short").status_code for _ in range(limit + 1)]
    assert statuses[-1] == 429
