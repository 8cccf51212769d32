"""Idempotent demo catalogue for `flask seed-demo`: rows are found by natural key, never duplicated."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import select

from nibog.booking.models import PromoCode
from nibog.catalog.models import (
    AddOn,
    AddOnVariant,
    City,
    Event,
    EventFaq,
    EventGame,
    GameSlot,
    GameTemplate,
    Venue,
)
from nibog.content.models import ContentPage, Faq, Testimonial
from nibog.core.timeutil import today_ist
from nibog.extensions import db

CITIES = [
    ("Hyderabad", "Telangana", ["Gachibowli Indoor Stadium", "LB Stadium Hall"]),
    ("Visakhapatnam", "Andhra Pradesh", ["Port Stadium Arena"]),
    ("Chennai", "Tamil Nadu", ["Jawaharlal Nehru Indoor Stadium"]),
    ("Bengaluru", "Karnataka", ["Koramangala Indoor Stadium", "Kanteerava Indoor Hall"]),
    ("Tirupati", "Andhra Pradesh", ["SV University Sports Complex"]),
]

# name, category, min months, max months, minutes, price (paise)
GAMES = [
    ("Baby Crawling", "crawling", 5, 15, 60, 79900),
    ("Baby Walker Race", "walking", 5, 15, 60, 79900),
    ("Running Race", "running", 13, 84, 60, 99900),
    ("Hurdle Toddle", "running", 13, 84, 90, 109900),
    ("Cycle Race", "cycling", 13, 84, 90, 119900),
    ("Shot Put", "throwing", 25, 84, 60, 89900),
    ("Ring Holding", "skill", 37, 84, 60, 69900),
    ("High Jump", "jumping", 37, 84, 120, 149900),
    ("Jumping Ball", "jumping", 49, 84, 120, 179900),
]

# slug, title, city, venue index, days from today, games, slot capacity
EVENTS = [
    ("hyderabad-winter-baby-olympics", "NIBOG Hyderabad Winter Baby Olympics", "Hyderabad", 0, 25,
     ["Baby Crawling", "Baby Walker Race", "Running Race", "Cycle Race", "High Jump"], 50),
    ("bengaluru-little-champions", "NIBOG Bengaluru Little Champions", "Bengaluru", 0, 32,
     ["Baby Crawling", "Running Race", "Hurdle Toddle", "Shot Put", "Jumping Ball"], 40),
    ("chennai-toddler-games", "NIBOG Chennai Toddler Games", "Chennai", 0, 40,
     ["Baby Walker Race", "Running Race", "Ring Holding"], 200),
    ("vizag-beach-baby-olympics", "NIBOG Vizag Baby Olympics", "Visakhapatnam", 0, 47,
     ["Baby Crawling", "Cycle Race", "Shot Put"], 12),
    ("tirupati-kids-carnival", "NIBOG Tirupati Kids Carnival", "Tirupati", 0, 55,
     ["Running Race", "Hurdle Toddle", "Ring Holding", "High Jump"], 30),
]

ADDONS = [
    ("Meal Pack", "Lunch and snacks for a parent and child", 29900, []),
    ("NIBOG T-shirt", "Official event T-shirt", 49900, [("XS", 40), ("S", 60), ("M", 60), ("L", 40)]),
    ("Photography", "Professional photos of your child's games", 99900, []),
    ("Participation Medal", "Engraved medal", 19900, []),
]

FAQS = [
    ("What age groups can take part?", "Games are for children from 5 months to 7 years; each game "
     "lists its own age band in months, checked on the event date."),
    ("How long is my booking held while I pay?", "Seats are held for 15 minutes. If payment does "
     "not complete in that time, the seats are released."),
    ("Can I cancel?", "Yes. Cancellations up to 48 hours before the event get a full refund."),
    ("What should my child wear?", "Comfortable sportswear and shoes; crawling events are barefoot."),
]

TESTIMONIALS = [
    ("Lakshmi R.", "Hyderabad", "My daughter loved the crawling race. Beautifully organised!", 5),
    ("Arjun M.", "Bengaluru", "Great fun for the whole family, and the medals were a hit.", 5),
    ("Priya S.", "Chennai", "Smooth check-in with the QR ticket. We will be back next year.", 4),
]

PAGES = {
    "about": ("About NIBOG", "<p>NIBOG — New India Baby Olympic Games — runs joyful sports "
              "events for babies and toddlers across India.</p>"),
    "terms": ("Terms and conditions", "<p>By booking you agree to the event rules and the "
              "refund policy.</p>"),
    "privacy": ("Privacy policy", "<p>We keep only what we need to run your child's events and "
                "never sell personal data.</p>"),
    "refund-policy": ("Refund policy", "<p>Full refund for cancellations made at least 48 hours "
                      "before the event; no refund after that.</p>"),
}

PROMOS = [
    ("EARLY10", "percent", 10, {"max_discount": 50000, "max_uses": 500, "per_user_limit": 1}),
    ("FLAT200", "fixed", 20000, {"min_total": 150000, "max_uses": 200}),
]


def _get_or_create(model, lookup: dict, **defaults):
    instance = db.session.scalar(select(model).filter_by(**lookup))
    if instance is not None:
        return instance, False
    instance = model(**lookup, **defaults)
    db.session.add(instance)
    db.session.flush()
    return instance, True


def slugify(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def seed_demo_data() -> dict[str, int]:
    created = {"cities": 0, "venues": 0, "games": 0, "events": 0, "promos": 0, "content": 0}
    venues: dict[str, list[Venue]] = {}
    cities: dict[str, City] = {}
    for name, state, venue_names in CITIES:
        city, new = _get_or_create(City, {"slug": slugify(name)}, name=name, state=state)
        created["cities"] += new
        cities[name] = city
        venues[name] = []
        for vname in venue_names:
            venue, new = _get_or_create(
                Venue, {"city_id": city.id, "name": vname},
                address=f"{vname}, {name}, {state}", capacity=500,
            )
            created["venues"] += new
            venues[name].append(venue)

    templates: dict[str, GameTemplate] = {}
    for name, category, lo, hi, minutes, price in GAMES:
        tpl, new = _get_or_create(
            GameTemplate, {"name": name}, category=category, min_age_months=lo, max_age_months=hi,
            duration_minutes=minutes, default_price=price,
            description=f"{name} for children aged {lo}–{hi} months.",
        )
        created["games"] += new
        templates[name] = tpl

    for slug, title, city_name, vidx, days, game_names, capacity in EVENTS:
        existing = db.session.scalar(select(Event).where(Event.slug == slug))
        if existing is not None:
            continue
        _create_event(slug, title, cities[city_name], venues[city_name][vidx], days,
                      [templates[g] for g in game_names], capacity)
        created["events"] += 1

    for code, kind, value, extra in PROMOS:
        _, new = _get_or_create(PromoCode, {"code": code}, kind=kind, value=value,
                                description=f"Demo code {code}", **extra)
        created["promos"] += new

    for i, (question, answer) in enumerate(FAQS):
        _, new = _get_or_create(Faq, {"question": question}, answer=answer, sort_order=i)
        created["content"] += new
    for i, (author, city_name, content, rating) in enumerate(TESTIMONIALS):
        _, new = _get_or_create(Testimonial, {"author_name": author, "content": content},
                                city_name=city_name, rating=rating, sort_order=i)
        created["content"] += new
    for slug, (title, body) in PAGES.items():
        _, new = _get_or_create(ContentPage, {"slug": slug}, title=title, body_html=body)
        created["content"] += new
    return created


def _create_event(slug, title, city, venue, days, games, capacity) -> Event:
    event = Event(
        slug=slug, title=title, city_id=city.id, venue_id=venue.id,
        event_date=today_ist() + timedelta(days=days), start_time=time(9, 0), end_time=time(17, 0),
        status="published", is_featured=days < 35,
        description=f"{title}: a day of baby olympics at {venue.name}.",
    )
    db.session.add(event)
    db.session.flush()
    for order, tpl in enumerate(games):
        game = EventGame(event_id=event.id, game_template_id=tpl.id, sort_order=order)
        db.session.add(game)
        db.session.flush()
        for hour in (9, 11, 14):
            db.session.add(GameSlot(
                event_game_id=game.id, start_time=time(hour, 0),
                end_time=time(hour + tpl.duration_minutes // 60, tpl.duration_minutes % 60),
                capacity=capacity,
            ))
    db.session.add(EventFaq(event_id=event.id, question="Where do we report?",
                            answer=f"At the registration desk of {venue.name}, 30 minutes early."))
    for order, (name, description, price, variants) in enumerate(ADDONS):
        addon = AddOn(event_id=event.id, name=name, description=description, price=price,
                      sort_order=order)
        db.session.add(addon)
        db.session.flush()
        for vname, stock in variants:
            db.session.add(AddOnVariant(addon_id=addon.id, name=vname, stock=stock))
    db.session.flush()
    return event
