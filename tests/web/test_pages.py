"""Home, event listing and event page: what a visitor sees, in both languages."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import refresh

from nibog.core.timeutil import today_ist
from tests.factories import CityFactory, EventFactory, VenueFactory
from tests.helpers import html, sign_in


def test_home_lists_upcoming_events_linking_to_their_pages(client, world):
    resp = client.get("/")
    assert resp.status_code == 200
    page = html(resp)
    assert "Hyderabad Baby Olympics" in page
    assert f'href="/events/{world.event.id}-hyderabad-baby-olympics"' in page
    assert "How it works" in page
    assert '<html lang="en">' in page


def test_home_city_choice_is_remembered_in_a_cookie(client, world):
    other_city = CityFactory(name="Chennai")
    EventFactory(venue=VenueFactory(city=other_city), title="Chennai Crawl",
                 event_date=today_ist() + timedelta(days=10))
    resp = client.get(f"/?city_id={other_city.id}")
    assert "Upcoming in Chennai" in html(resp)
    assert f"city={other_city.id}" in resp.headers["Set-Cookie"]
    # The next visit, without the argument, is still Chennai's.
    again = html(client.get("/"))
    assert "Upcoming in Chennai" in again
    upcoming = again.split("Upcoming in Chennai")[1].split("How it works")[0]
    assert "Chennai Crawl" in upcoming and "Hyderabad Baby Olympics" not in upcoming


def test_header_city_picker_sets_the_cookie_and_returns(client, world):
    resp = client.get(f"/city?city_id={world.event.city_id}&next=/events")
    assert resp.status_code == 303 and resp.headers["Location"] == "/events"
    assert f"city={world.event.city_id}" in resp.headers["Set-Cookie"]
    # An outside address is never a destination.
    assert client.get("/city?city_id=&next=https://evil.example/").headers["Location"] == "/"


def test_event_listing_filters_by_age_and_seats(client, world):
    young = html(client.get("/events?age_months=20"))
    assert "Hyderabad Baby Olympics" in young
    assert "No events match" in html(client.get("/events?age_months=200"))
    assert "1 event found" in html(client.get(f"/events?city_id={world.event.city_id}&available=y"))


def test_event_listing_bad_filter_is_explained_next_to_the_field_with_the_value_kept(client, world):
    resp = client.get("/events?date_from=2030-05-10&date_to=2030-05-01&age_months=20")
    assert resp.status_code == 422
    page = html(resp)
    assert 'id="date_to-error"' in page and "before the start date" in page
    assert 'value="2030-05-10"' in page and 'value="20"' in page


def test_event_listing_paginates(client, world):
    for n in range(13):
        EventFactory(venue_id=world.event.venue_id, city_id=world.event.city_id, title=f"Extra event {n}",
                     event_date=today_ist() + timedelta(days=40 + n))
    first = html(client.get("/events?city_id="))
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = html(client.get("/events?city_id=&page=2"))
    assert "Page 2 of 2" in second and 'rel="prev"' in second


def test_event_page_shows_games_slots_seats_addons_and_a_book_button(client, world):
    resp = client.get(f"/events/{world.event.id}-hyderabad-baby-olympics")
    assert resp.status_code == 200
    page = html(resp)
    for expected in ("Baby Crawling", "Running Race", "Ages 12–48 months", "₹799",
                     "5 seats left", "T-shirt", "Open in maps", f"/book/{world.event.id}"):
        assert expected in page, expected
    assert 'rel="canonical"' in page


def test_event_address_without_slug_redirects_to_the_canonical_one(client, world):
    resp = client.get(f"/events/{world.event.id}")
    assert resp.status_code == 301
    assert resp.headers["Location"].endswith(f"/events/{world.event.id}-hyderabad-baby-olympics")
    assert client.get(f"/events/{world.event.id}-old-name").status_code == 301


def test_unknown_or_draft_event_is_404(client, world):
    assert client.get("/events/999999").status_code == 404
    draft = EventFactory(status="draft", slug="secret")
    assert client.get(f"/events/{draft.id}-secret").status_code == 404


def test_sold_out_slot_says_so_and_offers_the_waiting_list(client, world, db):
    slot = world.race_slot
    slot.booked_count = slot.capacity
    db.session.commit()
    page = html(client.get(f"/events/{world.event.id}-hyderabad-baby-olympics"))
    assert "Sold out" in page
    assert f"/book/{world.event.id}/waitlist/{slot.id}" in page


def test_pages_render_in_hindi_with_the_html_lang(client, world):
    client.set_cookie("lang", "hi")
    for url in ("/", "/events", f"/events/{world.event.id}-hyderabad-baby-olympics", "/login"):
        page = html(client.get(url))
        assert '<html lang="hi">' in page, url
    assert "कार्यक्रम" in html(client.get("/events"))  # "Events"


def test_accept_language_picks_hindi_without_a_cookie(client, world):
    page = html(client.get("/", headers={"Accept-Language": "hi-IN,hi;q=0.9"}))
    assert '<html lang="hi">' in page


def test_language_switch_sets_the_cookie_and_goes_back(client, world):
    resp = client.post("/language", data={"lang": "hi", "next": "/events?age_months=20"})
    assert resp.status_code == 303 and resp.headers["Location"] == "/events?age_months=20"
    assert "lang=hi" in resp.headers["Set-Cookie"]
    assert '<html lang="hi">' in html(client.get("/events"))
    # An unknown language changes nothing.
    assert "Set-Cookie" not in client.post("/language", data={"lang": "xx"}).headers


def test_every_page_carries_the_security_headers(client, world):
    resp = client.get("/")
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"]


def test_static_files_are_fingerprinted_and_cached_long(client, world):
    page = html(client.get("/"))
    css = page.split('rel="stylesheet" href="')[1].split('"')[0]
    assert css.startswith("/static/nibog.css?v=")
    resp = client.get(css)
    assert resp.status_code == 200
    assert "max-age=31536000" in resp.headers["Cache-Control"]
    assert "immutable" in resp.headers["Cache-Control"]


def test_page_weight_of_the_event_page_is_small(client, world):
    """Issue 17: ≤ 150 KB transferred without event images; HTML + CSS + JS here."""
    page = client.get(f"/events/{world.event.id}-hyderabad-baby-olympics")
    total = len(page.data)
    body = html(page)
    for marker in ('rel="stylesheet" href="', 'script src="'):
        url = body.split(marker)[1].split('"')[0]
        total += len(client.get(url).data)
    assert total < 150 * 1024


def test_anonymous_pages_are_kept_for_a_second_but_never_for_a_session(client, app, world, db,
                                                                      monkeypatch):
    from nibog.web import pagecache

    monkeypatch.setitem(app.config, "CATALOG_MICROCACHE_SECONDS", 60)
    pagecache.clear()
    url = f"/events/{world.event.id}-hyderabad-baby-olympics"
    assert "5 seats left" in html(client.get(url))
    world.crawl_slots[0].booked_count = 4
    db.session.commit()
    # Within the second: the same page (the seats it shows are that much older).
    assert "5 seats left" in html(client.get(url))
    # A Hindi visitor gets their own copy, and a signed-in one is never served a stored page.
    client.set_cookie("lang", "hi")
    refresh()  # the tests' shared app context keeps the last request's language
    assert '<html lang="hi">' in html(client.get(url))
    client.delete_cookie("lang")
    refresh()
    sign_in(client, world.parent)
    page = html(client.get(url))
    assert "1 seat left" in page and "My account" in page
    pagecache.clear()


def test_missing_page_is_a_friendly_404_in_the_visitors_language(client):
    resp = client.get("/no-such-page", headers={"Accept": "text/html"})
    assert resp.status_code == 404 and "Page not found" in html(resp)
    client.set_cookie("lang", "hi")
    refresh()
    page = html(client.get("/no-such-page", headers={"Accept": "text/html"}))
    assert '<html lang="hi">' in page and "पेज नहीं मिला" in page
