"""Parent site: home, event listing and event page, from the same cached catalog reads as the
API (nibog.catalog.service ``*_json``: Redis-cached, live seats laid over the detail)."""

from __future__ import annotations

import json

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from nibog.accounts import favorites
from nibog.catalog import queries as q
from nibog.catalog import service as catalog
from nibog.content import service as content
from nibog.core.errors import AppError
from nibog.core.timeutil import today_ist
from nibog.web import pagecache
from nibog.web.catalog_forms import EventFilterForm
from nibog.web.prefs import chosen_city_id, header_cities, remember_city

bp = Blueprint("web", __name__)
bp.before_request(pagecache.serve_cached)
bp.after_request(pagecache.store)

PER_PAGE = 12


@bp.get("/")
def home():
    city_arg = request.args.get("city_id", "")
    city_id = int(city_arg) if city_arg.isdigit() else chosen_city_id()
    cities = header_cities()
    city = next((c for c in cities if c["id"] == city_id), None)
    if city is None:
        city_id = None
    resp = render_template(
        "web/home.html",
        cities=cities, city=city,
        featured=json.loads(catalog.featured_json(6)),
        upcoming=json.loads(catalog.upcoming_json(6, city_id)),
        testimonials=json.loads(content.public_testimonials_json(True))[:3],
        faqs=json.loads(content.public_faqs_json(None))[:4],
    )
    if "city_id" in request.args:
        # The picker's choice is remembered for the next visit.
        return remember_city(make_response(resp), city_id)
    return resp


@bp.get("/events")
def events():
    cities = header_cities()
    args = MultiDict(request.args)
    if "city_id" not in args and chosen_city_id() is not None:
        args["city_id"] = str(chosen_city_id())
    form = EventFilterForm(formdata=args)
    form.set_cities(cities)
    page_no = request.args.get("page", "1")
    page_no = min(int(page_no), 10_000) if page_no.isdigit() and int(page_no) > 0 else 1
    if form.validate():
        filters = q.EventFilters(
            city_id=form.city_id.data,
            date_from=form.date_from.data or today_ist(),
            date_to=form.date_to.data,
            age_months=form.age_months.data,
            max_price=form.max_price.data * 100 if form.max_price.data is not None else None,
            available=True if form.available.data else None,
        )
        page = json.loads(catalog.list_events_json(filters, "date", page_no, PER_PAGE))
        status = 200
    else:
        page = {"items": [], "page": 1, "pages": 0, "total": 0, "per_page": PER_PAGE}
        status = 422
    return render_template("web/events.html", form=form, page=page), status


@bp.get("/events/<int:event_id>")
@bp.get("/events/<int:event_id>-<slug>")
def event(event_id: int, slug: str | None = None):
    try:
        detail = json.loads(catalog.event_detail_json(event_id))
    except AppError as exc:
        if exc.status == 404:
            abort(404)
        raise
    if slug != detail["slug"]:
        # One address per event: the slugged one (old slugs and bare ids redirect to it).
        return redirect(url_for("web.event", event_id=event_id, slug=detail["slug"]), 301)
    reviews = json.loads(catalog.event_reviews_json(event_id))
    # Signed in means a session cookie, so this page is never the cached one (pagecache).
    favourite = (favorites.is_favorite(current_user, event_id)
                 if current_user.is_authenticated else None)
    return render_template("web/event.html", event=detail, reviews=reviews, favourite=favourite)
