"""Admin catalog input and output schemas (cities, venues, game templates, events, gallery, FAQs)."""

from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from nibog.catalog.models import EVENT_STATUSES
from nibog.core.pagination import PageArgsSchema, page_schema

Name = lambda n=200, **kw: fields.String(validate=validate.Length(min=1, max=n), **kw)  # noqa: E731
Money = lambda **kw: fields.Integer(strict=True, validate=validate.Range(min=0), **kw)  # noqa: E731
Months = lambda **kw: fields.Integer(strict=True, validate=validate.Range(min=0, max=240), **kw)  # noqa: E731
Url = lambda **kw: fields.String(validate=validate.Length(max=500), **kw)  # noqa: E731


def _ordered(data, lo: str, hi: str, message: str):
    if data.get(lo) is not None and data.get(hi) is not None and data[lo] > data[hi]:
        raise ValidationError(message, hi)


# -- cities, venues, templates ---------------------------------------------------------------


class CityIn(Schema):
    name = Name(100, required=True)
    state = fields.String(validate=validate.Length(max=100), load_default="")
    is_active = fields.Boolean(load_default=True)


class CityUpdate(CityIn):
    name = Name(100)
    state = fields.String(validate=validate.Length(max=100))
    is_active = fields.Boolean()


class CityOut(Schema):
    id = fields.Integer()
    name = fields.String()
    state = fields.String()
    slug = fields.String()
    is_active = fields.Boolean()


class CityListArgs(PageArgsSchema):
    q = fields.String(validate=validate.Length(max=100))
    is_active = fields.Boolean()


class VenueIn(Schema):
    city_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    name = Name(200, required=True)
    address = fields.String(validate=validate.Length(max=2000), load_default="")
    capacity = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))
    latitude = fields.Float(allow_none=True, validate=validate.Range(min=-90, max=90))
    longitude = fields.Float(allow_none=True, validate=validate.Range(min=-180, max=180))
    is_active = fields.Boolean(load_default=True)


class VenueUpdate(VenueIn):
    city_id = fields.Integer(strict=True, validate=validate.Range(min=1))
    name = Name(200)
    address = fields.String(validate=validate.Length(max=2000))
    is_active = fields.Boolean()


class VenueOut(Schema):
    id = fields.Integer()
    city_id = fields.Integer()
    name = fields.String()
    address = fields.String()
    capacity = fields.Integer(allow_none=True)
    latitude = fields.Float(allow_none=True)
    longitude = fields.Float(allow_none=True)
    is_active = fields.Boolean()
    city = fields.Nested(CityOut)


class VenueListArgs(PageArgsSchema):
    city_id = fields.Integer(validate=validate.Range(min=1))
    q = fields.String(validate=validate.Length(max=100))


class TemplateIn(Schema):
    name = Name(120, required=True)
    description = fields.String(load_default="")
    category = fields.String(allow_none=True, validate=validate.Length(min=1, max=60))
    min_age_months = Months(required=True)
    max_age_months = Months(required=True)
    duration_minutes = fields.Integer(strict=True, required=True, validate=validate.Range(min=1, max=24 * 60))
    default_price = Money(allow_none=True)
    image_url = Url(allow_none=True)
    is_active = fields.Boolean(load_default=True)

    @validates_schema
    def _ages(self, data, **kwargs):
        _ordered(data, "min_age_months", "max_age_months", "must be >= min_age_months")


class TemplateUpdate(TemplateIn):
    name = Name(120)
    description = fields.String()
    min_age_months = Months()
    max_age_months = Months()
    duration_minutes = fields.Integer(strict=True, validate=validate.Range(min=1, max=24 * 60))
    is_active = fields.Boolean()


class TemplateOut(Schema):
    id = fields.Integer()
    name = fields.String()
    description = fields.String()
    category = fields.String(allow_none=True)
    min_age_months = fields.Integer()
    max_age_months = fields.Integer()
    duration_minutes = fields.Integer()
    default_price = fields.Integer(allow_none=True)
    image_url = fields.String(allow_none=True)
    is_active = fields.Boolean()


class TemplateListArgs(PageArgsSchema):
    category = fields.String()
    q = fields.String(validate=validate.Length(max=100))


CityPage = page_schema(CityOut, "AdminCityPage")
VenuePage = page_schema(VenueOut, "AdminVenuePage")
TemplatePage = page_schema(TemplateOut, "GameTemplatePage")


# -- events: nested create and incremental update --------------------------------------------


class _Timed(Schema):
    @validates_schema
    def _times(self, data, **kwargs):
        _ordered(data, "start_time", "end_time", "must be after start_time")


class SlotIn(_Timed):
    start_time = fields.Time(required=True)
    end_time = fields.Time(required=True)
    capacity = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=100000))
    price = Money(allow_none=True, load_default=None)
    is_open = fields.Boolean(load_default=True)


class SlotEdit(SlotIn):
    """With ``id``: change that slot; without: add one; ``_delete: true`` removes it."""

    id = fields.Integer(strict=True, validate=validate.Range(min=1))
    delete = fields.Boolean(data_key="_delete", load_default=False)
    start_time = fields.Time()
    end_time = fields.Time()
    capacity = fields.Integer(strict=True, validate=validate.Range(min=0, max=100000))
    price = Money(allow_none=True)
    is_open = fields.Boolean()


class GameIn(Schema):
    game_template_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    price = Money(allow_none=True, load_default=None)
    min_age_months = Months(allow_none=True, load_default=None)
    max_age_months = Months(allow_none=True, load_default=None)
    sort_order = fields.Integer(strict=True, load_default=0)
    slots = fields.List(fields.Nested(SlotIn), load_default=list)

    @validates_schema
    def _ages(self, data, **kwargs):
        _ordered(data, "min_age_months", "max_age_months", "must be >= min_age_months")


class GameEdit(GameIn):
    id = fields.Integer(strict=True, validate=validate.Range(min=1))
    delete = fields.Boolean(data_key="_delete", load_default=False)
    game_template_id = fields.Integer(strict=True, validate=validate.Range(min=1))
    price = Money(allow_none=True)
    min_age_months = Months(allow_none=True)
    max_age_months = Months(allow_none=True)
    sort_order = fields.Integer(strict=True)
    slots = fields.List(fields.Nested(SlotEdit))


class VariantIn(Schema):
    name = Name(80, required=True)
    price = Money(allow_none=True, load_default=None)
    stock = fields.Integer(strict=True, allow_none=True, load_default=None, validate=validate.Range(min=0))
    is_active = fields.Boolean(load_default=True)


class VariantEdit(VariantIn):
    id = fields.Integer(strict=True, validate=validate.Range(min=1))
    delete = fields.Boolean(data_key="_delete", load_default=False)
    name = Name(80)
    price = Money(allow_none=True)
    stock = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0))
    is_active = fields.Boolean()


class AddOnIn(Schema):
    name = Name(120, required=True)
    description = fields.String(load_default="")
    price = Money(required=True)
    is_active = fields.Boolean(load_default=True)
    sort_order = fields.Integer(strict=True, load_default=0)
    variants = fields.List(fields.Nested(VariantIn), load_default=list)


class AddOnEdit(AddOnIn):
    id = fields.Integer(strict=True, validate=validate.Range(min=1))
    delete = fields.Boolean(data_key="_delete", load_default=False)
    name = Name(120)
    description = fields.String()
    price = Money()
    is_active = fields.Boolean()
    sort_order = fields.Integer(strict=True)
    variants = fields.List(fields.Nested(VariantEdit))


class EventIn(_Timed):
    title = Name(200, required=True)
    city_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    venue_id = fields.Integer(strict=True, required=True, validate=validate.Range(min=1))
    event_date = fields.Date(required=True)
    start_time = fields.Time(required=True)
    end_time = fields.Time(required=True)
    description = fields.String(load_default="")
    status = fields.String(load_default="draft", validate=validate.OneOf(("draft", "published")))
    is_featured = fields.Boolean(load_default=False)
    image_url = Url(allow_none=True, load_default=None)
    registration_opens_at = fields.AwareDateTime(allow_none=True, load_default=None)
    registration_closes_at = fields.AwareDateTime(allow_none=True, load_default=None)
    certificate_template = fields.String(validate=validate.Length(min=1, max=40))
    games = fields.List(fields.Nested(GameIn), load_default=list)
    addons = fields.List(fields.Nested(AddOnIn), load_default=list)

    @validates_schema
    def _window(self, data, **kwargs):
        _ordered(data, "registration_opens_at", "registration_closes_at", "must be after opens_at")


class EventUpdate(EventIn):
    title = Name(200)
    city_id = fields.Integer(strict=True, validate=validate.Range(min=1))
    venue_id = fields.Integer(strict=True, validate=validate.Range(min=1))
    event_date = fields.Date()
    start_time = fields.Time()
    end_time = fields.Time()
    description = fields.String()
    status = fields.String(validate=validate.OneOf(EVENT_STATUSES))
    is_featured = fields.Boolean()
    image_url = Url(allow_none=True)
    registration_opens_at = fields.AwareDateTime(allow_none=True)
    registration_closes_at = fields.AwareDateTime(allow_none=True)
    games = fields.List(fields.Nested(GameEdit))
    addons = fields.List(fields.Nested(AddOnEdit))


class CloneIn(Schema):
    event_date = fields.Date(required=True)
    title = Name(200)


class EventListArgs(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(EVENT_STATUSES))
    city_id = fields.Integer()
    venue_id = fields.Integer()
    date_from = fields.Date()
    date_to = fields.Date()
    q = fields.String(validate=validate.Length(max=100))


# -- gallery and event FAQs ------------------------------------------------------------------


class GalleryIn(Schema):
    image_url = fields.String(required=True, validate=validate.Length(min=1, max=500))
    caption = fields.String(load_default="", validate=validate.Length(max=300))
    sort_order = fields.Integer(strict=True, load_default=0)


class GalleryUpdate(GalleryIn):
    image_url = fields.String(validate=validate.Length(min=1, max=500))
    caption = fields.String(validate=validate.Length(max=300))
    sort_order = fields.Integer(strict=True)


class GalleryOut(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    image_url = fields.String()
    caption = fields.String()
    sort_order = fields.Integer()


class EventFaqIn(Schema):
    question = Name(500, required=True)
    answer = fields.String(required=True, validate=validate.Length(min=1))
    sort_order = fields.Integer(strict=True, load_default=0)


class EventFaqUpdate(EventFaqIn):
    question = Name(500)
    answer = fields.String(validate=validate.Length(min=1))
    sort_order = fields.Integer(strict=True)


class EventFaqOut(Schema):
    id = fields.Integer()
    event_id = fields.Integer()
    question = fields.String()
    answer = fields.String()
    sort_order = fields.Integer()
