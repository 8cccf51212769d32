"""A third language is a catalogue and a code in LANGUAGES, not code: the switcher and the
profile's language choice come from the configuration, each language named in itself."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from nibog import create_app
from nibog.accounts.models import User
from nibog.core import i18n
from nibog.extensions import db
from tests.web.support import html, sign_in

TAMIL = "தமிழ்"
TRANSLATIONS = Path(__file__).resolve().parents[2] / "translations"
SWITCH = re.compile(r'<button type="submit" name="lang" value="(\w+)" lang="(\w+)"[^>]*>([^<]+)'
                    r"</button>", re.S)


@pytest.fixture
def three_languages(app, monkeypatch):
    monkeypatch.setitem(app.config, "LANGUAGES", ["en", "hi", "ta"])


def test_the_switcher_is_built_from_the_configured_languages(client):
    page = html(client.get("/bookings/lookup"))
    assert [(v, n) for v, _lang, n in SWITCH.findall(page)] == [("en", "English"), ("hi", "हिन्दी")]


def test_a_third_language_appears_in_the_switcher_named_in_itself(client, three_languages):
    page = html(client.get("/bookings/lookup"))
    assert [(v, lang, n) for v, lang, n in SWITCH.findall(page)] == [
        ("en", "en", "English"), ("hi", "hi", "हिन्दी"), ("ta", "ta", TAMIL)]
    resp = client.post("/language", data={"lang": "ta", "next": "/bookings/lookup"})
    page = html(client.get(resp.headers["Location"]))
    assert '<html lang="ta">' in page
    assert re.search(r'value="ta" lang="ta" aria-describedby="lang-label"\s+aria-current="true"',
                     page)


def test_a_language_not_configured_is_not_offered_nor_taken(client):
    resp = client.post("/language", data={"lang": "ta", "next": "/bookings/lookup"})
    assert "lang=ta" not in resp.headers.get("Set-Cookie", "")
    page = html(client.get("/bookings/lookup"))
    assert '<html lang="en">' in page and TAMIL not in page


def test_the_profile_offers_the_third_language_for_messages(client, three_languages):
    user = sign_in(client)
    page = html(client.get("/account/profile"))
    choices = re.findall(r'name="language"[^>]*type="radio" value="(\w+)"[^>]*> '
                         r'<label for="language-\d+">([^<]+)</label>', page)
    assert choices == [("en", "English"), ("hi", "हिन्दी"), ("ta", TAMIL)]
    resp = client.post("/account/profile", data={
        "full_name": user.full_name, "email": user.email, "phone": "", "city_id": "",
        "language": "ta"})
    assert resp.status_code in (302, 303), html(resp)[:400]
    db.session.expire_all()
    assert db.session.get(User, user.id).language == "ta"


@pytest.fixture
def tamil_site(database_urls, tmp_path):
    """The site as deployed with a Tamil catalogue added: one string translated, in a
    translations directory of its own, and "ta" in LANGUAGES."""
    catalog = Catalog(locale="ta")
    catalog.add("Find a guest booking", "விருந்தினர் முன்பதிவைக் கண்டறியவும்")
    folder = tmp_path / "ta" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with open(folder / "messages.mo", "wb") as fh:
        write_mo(fh, catalog)
    # Flask-Babel keeps loaded catalogues on its (process-wide) domain: Tamil as another test's
    # app loaded it (none) must not stand in for this one's, nor this one's stay after it.
    cached = i18n.babel.domain_instance.cache
    cached.pop(("ta", "messages"), None)
    db_url, redis_url = database_urls
    site = create_app({
        "SQLALCHEMY_DATABASE_URI": db_url.render_as_string(hide_password=False),
        "REDIS_URL": redis_url, "LANGUAGES": ["en", "hi", "ta"],
        "BABEL_TRANSLATION_DIRECTORIES":
            f"{TRANSLATIONS}/site;{TRANSLATIONS}/admin;{tmp_path}",
    })
    yield site
    cached.pop(("ta", "messages"), None)
    with site.app_context():
        db.engine.dispose()


def test_a_tamil_catalogue_is_all_it_takes(tamil_site):
    browser = tamil_site.test_client()
    browser.set_cookie("lang", "ta")
    page = html(browser.get("/bookings/lookup"))
    assert '<html lang="ta">' in page
    assert "விருந்தினர் முன்பதிவைக் கண்டறியவும்" in page  # from the new catalogue
    assert f">{TAMIL}</button>" in page
