"""Admin CRUD for promo codes (/api/admin/promo-codes). The booking engine applies them.

Codes are stored upper-case and unique. Scope: ``event_ids`` / ``game_template_ids`` (empty =
everywhere). A code that has been used is deactivated, not deleted (bookings point at it).
"""

from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from nibog.booking.models import PromoCode
from nibog.catalog import promo_admin
from nibog.catalog.admin_api import actor
from nibog.catalog.admin_service import get_or_404
from nibog.catalog.promo_admin import create_promo, delete_promo, promo_dict, update_promo
from nibog.core.auth import auth_required
from nibog.core.pagination import PageArgsSchema, page_schema

blp = Blueprint("admin_promos", __name__, url_prefix="/api/admin", description="Admin: promo codes")


class PromoIn(Schema):
    code = fields.String(
        required=True, validate=[validate.Length(min=3, max=40), validate.Regexp(r"^[A-Za-z0-9_-]+$")]
    )
    description = fields.String(load_default="", validate=validate.Length(max=300))
    kind = fields.String(required=True, validate=validate.OneOf(("percent", "fixed")))
    value = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    max_discount = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    min_total = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))
    max_uses = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    per_user_limit = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    valid_from = fields.AwareDateTime(allow_none=True)
    valid_until = fields.AwareDateTime(allow_none=True)
    is_active = fields.Boolean(load_default=True)
    event_ids = fields.List(fields.Integer(strict=True), load_default=list)
    game_template_ids = fields.List(fields.Integer(strict=True), load_default=list)

    @validates_schema
    def _rules(self, data, **kwargs):
        if data.get("kind") == "percent" and data.get("value", 0) > 100:
            raise ValidationError("a percentage is at most 100", "value")
        lo, hi = data.get("valid_from"), data.get("valid_until")
        if lo and hi and lo >= hi:
            raise ValidationError("must be after valid_from", "valid_until")


class PromoUpdate(PromoIn):
    code = fields.String(
        validate=[validate.Length(min=3, max=40), validate.Regexp(r"^[A-Za-z0-9_-]+$")]
    )
    description = fields.String(validate=validate.Length(max=300))
    kind = fields.String(validate=validate.OneOf(("percent", "fixed")))
    value = fields.Integer(strict=True, validate=validate.Range(min=1))
    is_active = fields.Boolean()
    event_ids = fields.List(fields.Integer(strict=True))
    game_template_ids = fields.List(fields.Integer(strict=True))


class PromoOut(Schema):
    id = fields.Integer()
    code = fields.String()
    description = fields.String()
    kind = fields.String()
    value = fields.Integer()
    max_discount = fields.Integer(allow_none=True)
    min_total = fields.Integer(allow_none=True)
    max_uses = fields.Integer(allow_none=True)
    used_count = fields.Integer()
    per_user_limit = fields.Integer(allow_none=True)
    valid_from = fields.String(allow_none=True)
    valid_until = fields.String(allow_none=True)
    is_active = fields.Boolean()
    event_ids = fields.List(fields.Integer())
    game_template_ids = fields.List(fields.Integer())


class PromoListArgs(PageArgsSchema):
    q = fields.String(validate=validate.Length(max=40))
    is_active = fields.Boolean()


PromoPage = page_schema(PromoOut, "PromoCodePage")


@blp.get("/promo-codes")
@auth_required("admin", "staff")
@blp.arguments(PromoListArgs, location="query")
@blp.response(200, PromoPage)
def list_promos(args):
    return promo_admin.list_promos(args["page"], args["per_page"], args.get("q"), args.get("is_active"))


@blp.get("/promo-codes/<int:promo_id>")
@auth_required("admin", "staff")
@blp.response(200, PromoOut)
def get_promo(promo_id):
    return promo_dict(get_or_404(PromoCode, promo_id, "Promo code"))


@blp.post("/promo-codes")
@auth_required("admin")
@blp.arguments(PromoIn)
@blp.response(201, PromoOut)
def create(data):
    promo = create_promo(data, actor())
    return promo_dict(promo)


@blp.put("/promo-codes/<int:promo_id>")
@auth_required("admin")
@blp.arguments(PromoUpdate)
@blp.response(200, PromoOut)
def update(data, promo_id):
    promo = update_promo(promo_id, data, actor())
    return promo_dict(promo)


@blp.delete("/promo-codes/<int:promo_id>")
@auth_required("admin")
@blp.response(204)
def remove(promo_id):
    """409 ``promo_code_in_use`` once used: deactivate it instead."""
    delete_promo(promo_id, actor())
