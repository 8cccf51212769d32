"""Public content: /api/faqs, /api/cities, /api/testimonials, /api/content/<slug>, /api/contact."""

from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from nibog.catalog.service import active_cities_json
from nibog.content import schemas as s
from nibog.content import service
from nibog.core.client_ip import client_ip
from nibog.extensions import limiter

blp = Blueprint("content", __name__, url_prefix="/api", description="Site content")

# Per client address: enough for a person retrying a form, useless for a spammer. One bucket
# for the API and the site's contact page, so the page is no way around it.
CONTACT_LIMIT = "5 per hour"
contact_limit = limiter.shared_limit(CONTACT_LIMIT, scope="contact", key_func=client_ip)


def _json(text: str) -> Response:
    return Response(text, mimetype="application/json")


@blp.get("/faqs")
@blp.arguments(s.FaqArgs, location="query")
@blp.response(200, s.FaqOut(many=True))
def faqs(args):
    return _json(service.public_faqs_json(args.get("category")))


@blp.get("/cities")
@blp.response(200, s.PublicCity(many=True))
def cities():
    """Every active city (the parent's city picker)."""
    return _json(active_cities_json())


@blp.get("/testimonials")
@blp.arguments(s.TestimonialArgs, location="query")
@blp.response(200, s.TestimonialOut(many=True))
def testimonials(args):
    return _json(service.public_testimonials_json(args["featured"]))


@blp.get("/content/<string:slug>")
@blp.response(200, s.PageOut)
def content_page(slug):
    """``about``, ``terms``, ``privacy``, ``refund-policy`` (and any page an admin adds)."""
    return _json(service.public_page_json(slug))


@blp.post("/contact")
@contact_limit
@blp.arguments(s.ContactIn)
@blp.response(201, s.ContactOut)
def contact(data):
    """Stored, and emailed to staff through the queue. Rate limited per client address."""
    msg = service.submit_contact(data, client_ip())
    return {"id": msg.id, "status": "received", "message": "Thanks! We will get back to you soon."}
