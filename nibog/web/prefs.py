"""The visitor's choices kept in cookies: language (``lang``, read by nibog.core.i18n) and city
(``city``, the home page's and the listing's default). No account needed, no session written."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, redirect, request

from nibog.catalog import service as catalog
from nibog.core.i18n import LANG_COOKIE
from nibog.extensions import csrf
from nibog.web.redirects import safe_next

bp = Blueprint("web_prefs", __name__)

CITY_COOKIE = "city"
YEAR = 365 * 24 * 3600


def chosen_city_id() -> int | None:
    raw = request.cookies.get(CITY_COOKIE, "")
    return int(raw) if raw.isdigit() else None


def header_cities() -> list[dict]:
    """Active cities for the header's picker (cached like the API's /api/cities)."""
    return json.loads(catalog.active_cities_json())


def remember_city(response, city_id: int | None):
    if city_id is None:
        response.delete_cookie(CITY_COOKIE)
    else:
        response.set_cookie(CITY_COOKIE, str(city_id), max_age=YEAR, samesite="Lax",
                            httponly=True, secure=request.is_secure)
    return response


@bp.post("/language")
@csrf.exempt  # switching the display language is harmless; pages stay free of session cookies
def set_language():
    lang = request.form.get("lang", "")
    resp = redirect(safe_next(request.form.get("next")), 303)
    if lang in current_app.config.get("LANGUAGES", ["en"]):
        resp.set_cookie(LANG_COOKIE, lang, max_age=YEAR, samesite="Lax", secure=request.is_secure)
    return resp


@bp.get("/city")
def choose_city():
    raw = request.args.get("city_id", "")
    resp = redirect(safe_next(request.args.get("next")), 303)
    return remember_city(resp, int(raw) if raw.isdigit() else None)


def init_app(app) -> None:
    app.jinja_env.globals.update(header_cities=header_cities, chosen_city_id=chosen_city_id)
