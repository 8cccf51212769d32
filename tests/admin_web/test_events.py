"""The event pages: list, create, the slot editor, add-ons, gallery, FAQs, status changes with
the service's guards, clone and delete; every change audited."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import func, select

from nibog.catalog.models import AddOn, AddOnVariant, Event, EventFaq, EventGalleryImage, GameSlot
from nibog.core.audit import AuditLog
from nibog.core.timeutil import today_ist
from nibog.extensions import db
from tests.factories import (
    AddOnFactory,
    AddOnVariantFactory,
    ChildFactory,
    EventFactory,
    EventGameFactory,
    GameSlotFactory,
    GameTemplateFactory,
    UserFactory,
    VenueFactory,
    make_booking,
)
from tests.helpers import html


def actions() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def fresh(model, obj_id):
    db.session.expire_all()
    return db.session.get(model, obj_id)


def test_event_list_filters_and_sorts(admin_client):
    today = today_ist()
    EventFactory(title="Alpha Games", event_date=today + timedelta(days=5))
    EventFactory(title="Beta Games", event_date=today + timedelta(days=50))
    EventFactory(title="Draft Games", status="draft")
    page = html(admin_client.get("/admin/events?status=published&sort=date&dir=asc"))
    assert page.index("Alpha Games") < page.index("Beta Games")
    assert "Draft Games" not in page
    later = html(admin_client.get(f"/admin/events?from={(today + timedelta(days=20)).isoformat()}"))
    assert "Beta Games" in later and "Alpha Games" not in later
    assert "Alpha Games" in html(admin_client.get("/admin/events?q=alpha"))
    assert "Beta Games" not in html(admin_client.get("/admin/events?q=alpha"))


def new_event_form(venue, **over):
    data = {"title": "Hyderabad Winter Games", "venue_id": str(venue.id),
            "event_date": (today_ist() + timedelta(days=30)).isoformat(),
            "start_time": "09:00", "end_time": "17:00", "certificate_template": "classic",
            "registration_opens_at": "", "registration_closes_at": "", "description": "Fun"}
    data.update(over)
    return data


def test_create_event_happy_path(admin_client):
    venue = VenueFactory()
    response = admin_client.post("/admin/events/new", data=new_event_form(
        venue, registration_closes_at=(today_ist() + timedelta(days=29)).isoformat() + "T18:00"))
    assert response.status_code == 302
    event = db.session.scalar(select(Event))
    assert response.headers["Location"].endswith(f"/admin/events/{event.id}#games")
    assert (event.status, event.city_id, event.start_time) == ("draft", venue.city_id, time(9))
    # 18:00 in India is 12:30 UTC.
    assert event.registration_closes_at.hour == 12 and event.registration_closes_at.minute == 30
    assert actions() == ["event.create"]


def test_create_event_validation_errors_keep_values(admin_client):
    venue = VenueFactory()
    response = admin_client.post("/admin/events/new", data=new_event_form(
        venue, title="", end_time="08:00"))
    assert response.status_code == 422
    page = html(response)
    assert "This field is required." in page and "Must be after the start time." in page
    assert "Fun</textarea>" in page
    no_venue = admin_client.post("/admin/events/new", data=new_event_form(venue, venue_id="0"))
    assert no_venue.status_code == 422
    assert db.session.scalar(select(func.count(Event.id))) == 0


def game_form(prefix, template_id=None, rows=(), **fields):
    data = {f"{prefix}-{k}": v for k, v in fields.items()}
    if template_id is not None:
        data[f"{prefix}-game_template_id"] = str(template_id)
    for i, row in enumerate(rows):
        for k, v in row.items():
            data[f"{prefix}-slots-{i}-{k}"] = v
    return data


def slot(start, end, capacity, price="", slot_id="", is_open="y", remove=None):
    row = {"id": str(slot_id), "start_time": start, "end_time": end, "capacity": str(capacity),
           "price": price}
    if is_open:
        row["is_open"] = is_open
    if remove:
        row["remove"] = "y"
    return row


def test_add_a_game_with_slots_then_edit_them(admin_client):
    event = EventFactory(status="draft")
    template = GameTemplateFactory(name="Running Race", default_price=79900)
    blank = {"id": "", "start_time": "", "end_time": "", "capacity": "", "price": ""}
    added = admin_client.post(f"/admin/events/{event.id}/games", data=game_form(
        "newgame", template.id, [slot("10:00", "11:00", 20), slot("11:00", "12:00", 15, "899"),
                                 blank], price=""))
    assert added.status_code == 302, html(added)
    slots = db.session.scalars(select(GameSlot).order_by(GameSlot.start_time)).all()
    assert [(s.capacity, s.price) for s in slots] == [(20, None), (15, 89900)]
    game_id = slots[0].event_game_id

    page = html(admin_client.get(f"/admin/events/{event.id}"))
    assert f'name="g{game_id}-slots-0-capacity"' in page and 'value="899.00"' in page

    # Raise the first slot, drop the second, add a third.
    saved = admin_client.post(f"/admin/events/{event.id}/games/{game_id}", data=game_form(
        f"g{game_id}", None, [
            slot("10:00", "11:00", 25, slot_id=slots[0].id),
            slot("11:00", "12:00", 15, slot_id=slots[1].id, remove=True),
            slot("12:00", "13:00", 10, "999"),
        ], price="849", sort_order="1"))
    assert saved.status_code == 302, html(saved)
    db.session.expire_all()
    after = db.session.scalars(select(GameSlot).order_by(GameSlot.start_time)).all()
    assert [(s.start_time, s.capacity, s.price) for s in after] == [
        (time(10), 25, None), (time(12), 10, 99900)]
    assert actions() == ["event.update", "event.update"]


def test_slot_rows_are_checked_before_the_service(admin_client):
    event = EventFactory(status="draft")
    template = GameTemplateFactory()
    response = admin_client.post(f"/admin/events/{event.id}/games", data=game_form(
        "newgame", template.id, [slot("10:00", "", 20), slot("12:00", "11:00", 5)]))
    assert response.status_code == 422
    page = html(response)
    assert "Required for a slot." in page and "Must be after the start." in page
    assert 'value="20"' in page  # the row keeps what was typed
    assert db.session.scalar(select(func.count(GameSlot.id))) == 0


def test_capacity_below_seats_booked_is_refused_at_the_game(admin_client):
    event = EventFactory()
    s = GameSlotFactory(event_game=EventGameFactory(event=event), capacity=5)
    parent = UserFactory()
    make_booking(parent, [(ChildFactory(parent=parent), s)])
    make_booking(parent, [(ChildFactory(parent=parent), s)])
    game_id = s.event_game_id
    response = admin_client.post(f"/admin/events/{event.id}/games/{game_id}", data=game_form(
        f"g{game_id}", None, [slot("10:00", "11:00", 1, slot_id=s.id)]))
    assert response.status_code == 422
    assert "has 2 seats booked" in html(response)
    assert fresh(GameSlot, s.id).capacity == 5
    removed = admin_client.post(f"/admin/events/{event.id}/games/{game_id}", data=game_form(
        f"g{game_id}", None, [slot("10:00", "11:00", 5, slot_id=s.id, remove=True)]))
    assert removed.status_code == 422 and "has bookings" in html(removed)
    assert actions() == []


def test_remove_a_game(admin_client):
    event = EventFactory(status="draft")
    game = EventGameFactory(event=event)
    GameSlotFactory(event_game=game)
    response = admin_client.post(f"/admin/events/{event.id}/games/{game.id}/delete")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(GameSlot.id))) == 0


def test_addons_with_variants_and_stock(admin_client):
    event = EventFactory(status="draft")
    response = admin_client.post(f"/admin/events/{event.id}/addons", data={
        "newaddon-name": "T-shirt", "newaddon-price": "299", "newaddon-is_active": "y",
        "newaddon-variants-0-id": "", "newaddon-variants-0-name": "S",
        "newaddon-variants-0-stock": "10", "newaddon-variants-0-is_active": "y",
        "newaddon-variants-1-id": "", "newaddon-variants-1-name": "M",
        "newaddon-variants-1-price": "349", "newaddon-variants-1-is_active": "y"})
    assert response.status_code == 302, html(response)
    addon = db.session.scalar(select(AddOn))
    variants = db.session.scalars(select(AddOnVariant).order_by(AddOnVariant.id)).all()
    assert (addon.name, addon.price) == ("T-shirt", 29900)
    assert [(v.name, v.price, v.stock) for v in variants] == [("S", None, 10), ("M", 34900, None)]
    nameless = admin_client.post(f"/admin/events/{event.id}/addons", data={
        "newaddon-name": "Cap", "newaddon-price": "99",
        "newaddon-variants-0-id": "", "newaddon-variants-0-stock": "3"})
    assert nameless.status_code == 422 and "A variant needs a name." in html(nameless)


def test_variant_stock_cannot_go_below_sold(admin_client):
    addon = AddOnFactory(event=EventFactory())
    variant = AddOnVariantFactory(addon=addon, stock=10, sold_count=4)
    a = f"a{addon.id}"
    response = admin_client.post(f"/admin/events/{addon.event_id}/addons/{addon.id}", data={
        f"{a}-name": addon.name, f"{a}-price": "299", f"{a}-is_active": "y",
        f"{a}-variants-0-id": str(variant.id), f"{a}-variants-0-name": "M",
        f"{a}-variants-0-stock": "3", f"{a}-variants-0-is_active": "y"})
    assert response.status_code == 422 and "stock cannot go below" in html(response)
    assert fresh(AddOnVariant, variant.id).stock == 10


def test_gallery_and_faqs(admin_client):
    event = EventFactory()
    bad = admin_client.post(f"/admin/events/{event.id}/gallery",
                            data={"gallery-image_url": "not a url"})
    assert bad.status_code == 422 and "Invalid URL." in html(bad)
    ok = admin_client.post(f"/admin/events/{event.id}/gallery", data={
        "gallery-image_url": "https://img.example.com/a.jpg", "gallery-caption": "Race"})
    assert ok.status_code == 302
    image = db.session.scalar(select(EventGalleryImage))
    assert image.caption == "Race"
    assert admin_client.post(
        f"/admin/events/{event.id}/gallery/{image.id}/delete").status_code == 302

    empty = admin_client.post(f"/admin/events/{event.id}/faqs", data={"faq-question": "Parking?"})
    assert empty.status_code == 422 and 'value="Parking?"' in html(empty)
    admin_client.post(f"/admin/events/{event.id}/faqs",
                      data={"faq-question": "Parking?", "faq-answer": "Yes, free."})
    faq = db.session.scalar(select(EventFaq))
    edited = admin_client.post(f"/admin/events/{event.id}/faqs/{faq.id}", data={
        f"faq{faq.id}-question": "Parking?", f"faq{faq.id}-answer": "Yes, at gate 2."})
    assert edited.status_code == 302
    assert fresh(EventFaq, faq.id).answer == "Yes, at gate 2."
    assert actions() == ["event_gallery.create", "event_gallery.delete", "event_faqs.create",
                         "event_faqs.update"]


def status(client, event, to):
    response = client.post(f"/admin/events/{event.id}/status", data={"status": to})
    assert response.status_code == 302
    return html(client.get(response.headers["Location"]))


def test_publish_needs_a_slot_then_unpublish_and_cancel(admin_client):
    event = EventFactory(status="draft")
    page = status(admin_client, event, "published")
    assert "Add at least one game with a slot" in page
    assert fresh(Event, event.id).status == "draft"
    GameSlotFactory(event_game=EventGameFactory(event=event))
    assert "Published" in status(admin_client, event, "published")
    assert fresh(Event, event.id).status == "published"
    status(admin_client, event, "draft")
    assert fresh(Event, event.id).status == "draft"
    status(admin_client, event, "cancelled")
    assert fresh(Event, event.id).status == "cancelled"
    assert actions() == ["event.published", "event.draft", "event.cancelled"]


def test_an_event_cannot_be_completed_before_its_date(admin_client):
    event = EventFactory(event_date=today_ist() + timedelta(days=3))
    page = status(admin_client, event, "completed")
    assert "can be completed on or after its date" in page
    assert fresh(Event, event.id).status == "published"


def test_the_page_offers_only_the_allowed_transitions(admin_client):
    draft = EventFactory(status="draft")
    page = html(admin_client.get(f"/admin/events/{draft.id}"))
    assert 'value="published"' in page and 'value="completed"' not in page
    done = EventFactory(status="completed")
    page = html(admin_client.get(f"/admin/events/{done.id}"))
    assert 'name="status"' not in page


def test_clone_to_a_new_date(admin_client):
    event = EventFactory(title="Pune Games")
    GameSlotFactory(event_game=EventGameFactory(event=event), capacity=7)
    missing = admin_client.post(f"/admin/events/{event.id}/clone", data={"clone-event_date": ""})
    assert missing.status_code == 422
    new_day = today_ist() + timedelta(days=90)
    response = admin_client.post(f"/admin/events/{event.id}/clone",
                                 data={"clone-event_date": new_day.isoformat()})
    assert response.status_code == 302
    copy = db.session.scalar(select(Event).where(Event.id != event.id))
    assert (copy.title, copy.event_date, copy.status) == ("Pune Games", new_day, "draft")
    assert db.session.scalar(select(func.sum(GameSlot.capacity))) == 14
    assert actions() == ["event.clone"]


def test_delete_is_refused_with_bookings(admin_client):
    event = EventFactory()
    s = GameSlotFactory(event_game=EventGameFactory(event=event))
    parent = UserFactory()
    make_booking(parent, [(ChildFactory(parent=parent), s)])
    response = admin_client.post(f"/admin/events/{event.id}/delete")
    assert "cancel the event instead" in html(admin_client.get(response.headers["Location"]))
    assert fresh(Event, event.id) is not None
    empty = EventFactory(status="draft")
    assert admin_client.post(f"/admin/events/{empty.id}/delete").status_code == 302
    assert fresh(Event, empty.id) is None


def test_staff_read_the_event_but_cannot_change_it(staff_client):
    event = EventFactory()
    GameSlotFactory(event_game=EventGameFactory(event=event))
    page = html(staff_client.get(f"/admin/events/{event.id}"))
    assert "only an administrator can change it" in page and "Add a game" not in page
    assert staff_client.post(f"/admin/events/{event.id}/status",
                             data={"status": "cancelled"}).status_code == 403
    assert fresh(Event, event.id).status == "published"
