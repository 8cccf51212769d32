"""Cities, venues and games: lists with filters in the URL, forms with errors at the field,
and every change in the audit log."""

from __future__ import annotations

from sqlalchemy import select

from nibog.catalog.models import City, GameTemplate, Venue
from nibog.core.audit import AuditLog
from nibog.extensions import db
from tests.factories import CityFactory, EventFactory, GameTemplateFactory, VenueFactory
from tests.helpers import html


def audit_actions() -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)))


def test_city_list_filters_sorts_and_pages(admin_client):
    for name in ("Pune", "Hyderabad", "Mumbai"):
        CityFactory(name=name, state="X")
    CityFactory(name="Old Town", is_active=False)
    page = html(admin_client.get("/admin/cities?active=1&sort=name&dir=desc"))
    assert page.index("Pune") < page.index("Mumbai") < page.index("Hyderabad")
    assert "Old Town" not in page
    assert 'aria-sort="descending"' in page
    # The filter stays in the sort links and the page links.
    assert "active=1" in page.split('aria-sort="descending"')[1].split("</th>")[0]
    assert "Hyderabad" in html(admin_client.get("/admin/cities?q=hyd"))
    assert "Pune" not in html(admin_client.get("/admin/cities?q=hyd"))
    paged = html(admin_client.get("/admin/cities?per_page=2&page=2&sort=name"))
    assert "Page 2 of 2" in paged and "Pune" in paged and "Hyderabad" not in paged


def test_a_bad_sort_or_page_shows_the_list_anyway(admin_client):
    CityFactory(name="Pune")
    assert admin_client.get("/admin/cities?sort=evil;drop&page=-3&per_page=x").status_code == 200


def test_city_create_happy_path_and_audit(admin_client):
    response = admin_client.post("/admin/cities/new", data={"name": " Chennai ", "state": "TN",
                                                            "is_active": "y"})
    assert response.status_code == 302
    city = db.session.scalar(select(City).where(City.name == "Chennai"))
    assert city is not None and city.state == "TN" and city.is_active
    assert audit_actions() == ["city.create"]
    assert "City Chennai added." in html(admin_client.get("/admin/cities"))


def test_city_form_errors_keep_the_values(admin_client):
    CityFactory(name="Chennai", state="TN")
    missing = admin_client.post("/admin/cities/new", data={"name": "", "state": "Kerala"})
    assert missing.status_code == 422
    page = html(missing)
    assert 'aria-invalid="true"' in page and "This field is required." in page
    assert 'value="Kerala"' in page
    duplicate = admin_client.post("/admin/cities/new", data={"name": "chennai", "state": "TN"})
    assert duplicate.status_code == 422
    assert "already exists" in html(duplicate) and 'value="chennai"' in html(duplicate)
    assert db.session.scalar(select(db.func.count(City.id))) == 1
    assert audit_actions() == []


def test_city_edit_and_delete_guard(admin_client):
    city = CityFactory(name="Pune")
    VenueFactory(city=city)
    form = admin_client.get(f"/admin/cities/{city.id}")
    assert form.status_code == 200 and 'value="Pune"' in html(form)
    saved = admin_client.post(f"/admin/cities/{city.id}", data={"name": "Poona", "state": "MH"})
    assert saved.status_code == 302
    refused = admin_client.post(f"/admin/cities/{city.id}/delete")
    assert refused.status_code == 302
    assert "has venues" in html(admin_client.get(refused.headers["Location"]))
    db.session.expire_all()
    assert db.session.get(City, city.id).name == "Poona"
    assert audit_actions() == ["city.update"]


def test_staff_see_the_catalog_read_only(staff_client):
    city = CityFactory(name="Pune")
    page = html(staff_client.get(f"/admin/cities/{city.id}"))
    assert "<fieldset disabled" in page and "only an administrator" in page
    assert "Add a city" not in html(staff_client.get("/admin/cities"))
    assert staff_client.post(f"/admin/cities/{city.id}", data={"name": "X"}).status_code == 403


def test_venue_create_errors_and_happy_path(admin_client):
    city = CityFactory(name="Pune")
    bad = admin_client.post("/admin/venues/new", data={"city_id": "0", "name": "Balewadi",
                                                       "latitude": "123"})
    assert bad.status_code == 422
    page = html(bad)
    assert 'value="Balewadi"' in page and "Number must be between -90 and 90." in page
    ok = admin_client.post("/admin/venues/new", data={
        "city_id": str(city.id), "name": "Balewadi Stadium", "address": "Balewadi",
        "capacity": "500", "is_active": "y"})
    assert ok.status_code == 302
    venue = db.session.scalar(select(Venue))
    assert (venue.name, venue.capacity, venue.city_id) == ("Balewadi Stadium", 500, city.id)
    listed = html(admin_client.get(f"/admin/venues?city_id={city.id}"))
    assert "Balewadi Stadium" in listed
    assert audit_actions() == ["venue.create"]


def test_venue_with_events_cannot_move_city(admin_client):
    event = EventFactory()
    other = CityFactory(name="Elsewhere")
    venue_id = event.venue_id
    response = admin_client.post(f"/admin/venues/{venue_id}", data={
        "city_id": str(other.id), "name": "Moved"})
    assert response.status_code == 422
    assert "cannot move to another city" in html(response)
    db.session.expire_all()
    assert db.session.get(Venue, venue_id).name != "Moved"


def test_game_create_in_rupees_and_age_check(admin_client):
    bad = admin_client.post("/admin/games/new", data={
        "name": "Running Race", "min_age_months": "36", "max_age_months": "12",
        "duration_minutes": "30", "default_price": "799.50"})
    assert bad.status_code == 422
    assert "Must not be below the youngest age." in html(bad)
    assert 'value="799.50"' in html(bad)
    ok = admin_client.post("/admin/games/new", data={
        "name": "Running Race", "category": "Running", "min_age_months": "12",
        "max_age_months": "36", "duration_minutes": "30", "default_price": "799.50",
        "is_active": "y"})
    assert ok.status_code == 302
    game = db.session.scalar(select(GameTemplate))
    assert (game.default_price, game.category) == (79950, "running")
    edit = html(admin_client.get(f"/admin/games/{game.id}"))
    assert 'value="799.50"' in edit
    assert audit_actions() == ["game_template.create"]


def test_game_delete(admin_client):
    game = GameTemplateFactory()
    assert admin_client.post(f"/admin/games/{game.id}/delete").status_code == 302
    assert db.session.scalar(select(GameTemplate)) is None
    assert audit_actions() == ["game_template.delete"]
