"""What the listing's date and price filters keep and drop, and the content a visitor reads on the
event page (gallery, questions, reviews) and the home page (testimonials, FAQ teaser)."""

from __future__ import annotations

import re
from datetime import time, timedelta

from nibog.catalog.models import EventFaq, EventGalleryImage, Review
from nibog.content import models as content
from nibog.core import boundary
from nibog.core.timeutil import today_ist
from tests.factories import (
    BookingFactory,
    CityFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    UserFactory,
    VenueFactory,
)
from tests.helpers import html


def _event(venue, title: str, days: int, price: int):
    event = EventFactory(venue=venue, title=title, event_date=today_ist() + timedelta(days=days))
    game = EventGameFactory(event=event, template=GameTemplateFactory(default_price=price))
    GameSlotFactory(event_game=game, capacity=5, start_time=time(10, 0), end_time=time(10, 30))
    return event


def _titles(page: str) -> set[str]:
    return set(re.findall(r"Filter test [A-Z]", page))


def _three_events():
    venue = VenueFactory(city=CityFactory(name="Mysuru"))
    early = _event(venue, "Filter test A", 10, 79900)
    middle = _event(venue, "Filter test B", 20, 149900)
    late = _event(venue, "Filter test C", 30, 99900)
    boundary.commit()
    return early, middle, late


def test_date_range_keeps_events_inside_and_drops_those_outside(client, db):
    early, middle, late = (e.event_date for e in _three_events())
    day = lambda d: d.isoformat()  # noqa: E731
    assert _titles(html(client.get("/events?city_id="))) == {"Filter test A", "Filter test B",
                                                              "Filter test C"}
    between = html(client.get(f"/events?city_id=&date_from={day(early) }&date_to={day(middle)}"))
    assert _titles(between) == {"Filter test A", "Filter test B"}  # both ends included
    one_day = html(client.get(f"/events?city_id=&date_from={day(late)}&date_to={day(late)}"))
    assert _titles(one_day) == {"Filter test C"}
    after = html(client.get(
        f"/events?city_id=&date_from={(late + timedelta(days=1)).isoformat()}"))
    assert _titles(after) == set() and "No events match" in after
    # The chosen dates stay in the form.
    assert f'value="{day(early)}"' in between and f'value="{day(middle)}"' in between


def test_max_price_keeps_events_at_or_under_it(client, db):
    _three_events()
    assert _titles(html(client.get("/events?city_id=&max_price=1000"))) == {"Filter test A",
                                                                            "Filter test C"}
    assert _titles(html(client.get("/events?city_id=&max_price=799"))) == {"Filter test A"}
    assert _titles(html(client.get("/events?city_id=&max_price=798"))) == set()
    page = html(client.get("/events?city_id=&max_price=1500"))
    assert _titles(page) == {"Filter test A", "Filter test B", "Filter test C"}
    assert 'value="1500"' in page


def test_event_page_shows_gallery_questions_and_published_reviews(client, db):
    event = _event(VenueFactory(), "Pune Baby Games", 15, 79900)
    db.session.add_all([
        EventGalleryImage(event_id=event.id, image_url="/static/img/crawl-race.jpg",
                          caption="Crawling race finish", sort_order=1),
        EventFaq(event_id=event.id, question="Can grandparents come along?",
                 answer="Yes, two adults per child.", sort_order=1),
    ])
    for rating, comment, published in ((5, "Superb fun for our toddler", True),
                                       (4, "Well organised", True),
                                       (1, "Hidden by the team", False)):
        booking = BookingFactory(event=event, user=UserFactory(full_name=f"Parent {rating}"))
        db.session.add(Review(booking_id=booking.id, event_id=event.id, user_id=booking.user_id,
                              rating=rating, comment=comment, is_published=published))
    boundary.commit()

    page = html(client.get(f"/events/{event.id}-{event.slug}"))
    gallery = page.split('id="gallery-h"')[1].split("</section>")[0]
    assert 'src="/static/img/crawl-race.jpg"' in gallery and 'alt="Crawling race finish"' in gallery
    faqs = page.split('id="faqs-h"')[1].split("</section>")[0]
    assert "<summary>Can grandparents come along?</summary>" in faqs
    assert "Yes, two adults per child." in faqs
    reviews = page.split('id="reviews-h"')[1].split("</section>")[0]
    assert "Superb fun for our toddler" in reviews and "Well organised" in reviews
    assert "Hidden by the team" not in page and "No reviews yet" not in reviews
    assert "5 out of 5" in reviews


def test_event_page_without_content_says_no_reviews_and_has_no_empty_sections(client, db):
    event = _event(VenueFactory(), "Quiet Games", 15, 79900)
    boundary.commit()
    page = html(client.get(f"/events/{event.id}-{event.slug}"))
    assert "No reviews yet." in page
    assert 'id="gallery-h"' not in page and 'id="faqs-h"' not in page


def test_home_shows_featured_testimonials_and_the_faq_teaser(client, db):
    db.session.add_all([
        content.Testimonial(author_name="Kavya", city_name="Bengaluru", content="My son loved the race",
                    is_featured=True, sort_order=1),
        content.Testimonial(author_name="Hidden", content="Not for the home page", is_featured=False),
        content.Testimonial(author_name="Draft", content="Unpublished words", is_published=False),
        content.Faq(question="What age groups can take part?", answer="From 5 months to 12 years.",
            sort_order=1),
        content.Faq(question="Secret question", answer="Not shown", is_published=False),
    ])
    boundary.commit()
    page = html(client.get("/"))
    parents = page.split('id="parents-h"')[1].split("</section>")[0]
    assert "My son loved the race" in parents and "Kavya, Bengaluru" in parents
    assert "Not for the home page" not in page and "Unpublished words" not in page
    faq = page.split('id="faq-h"')[1].split("</section>")[0]
    assert "<summary>What age groups can take part?</summary>" in faq
    assert 'href="/faq"' in faq and "Secret question" not in page


def test_home_without_content_has_no_empty_sections(client, db):
    page = html(client.get("/"))
    assert 'id="parents-h"' not in page and 'id="faq-h"' not in page
