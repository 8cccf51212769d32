"""Content schemas: public shapes, the contact form, admin inputs."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from nibog.core.email_field import EmailAddress

PHONE = validate.Regexp(r"^\+?[0-9][0-9 -]{6,18}$", error="Not a valid phone number")


class FaqOut(Schema):
    id = fields.Integer()
    question = fields.String()
    answer = fields.String()
    category = fields.String()
    sort_order = fields.Integer()
    is_published = fields.Boolean()


class FaqArgs(Schema):
    category = fields.String(validate=validate.Length(max=60))


class TestimonialOut(Schema):
    id = fields.Integer()
    author_name = fields.String()
    city_name = fields.String()
    content = fields.String()
    rating = fields.Integer(allow_none=True)
    image_url = fields.String(allow_none=True)
    is_featured = fields.Boolean()
    is_published = fields.Boolean()
    sort_order = fields.Integer()


class TestimonialArgs(Schema):
    featured = fields.Boolean(load_default=False)


class PageOut(Schema):
    slug = fields.String()
    title = fields.String()
    body_html = fields.String()
    updated_at = fields.String(metadata={"format": "date-time"})


class PublicCity(Schema):
    id = fields.Integer()
    name = fields.String()
    state = fields.String()
    slug = fields.String()


class ContactIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=120))
    email = EmailAddress(required=True, validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=PHONE)
    message = fields.String(required=True, validate=validate.Length(min=10, max=5000))


class ContactOut(Schema):
    id = fields.Integer()
    status = fields.String()
    message = fields.String()


class FaqIn(Schema):
    question = fields.String(required=True, validate=validate.Length(min=1, max=500))
    answer = fields.String(required=True, validate=validate.Length(min=1))
    category = fields.String(load_default="general", validate=validate.Length(min=1, max=60))
    sort_order = fields.Integer(load_default=0)
    is_published = fields.Boolean(load_default=True)


class FaqUpdate(FaqIn):
    question = fields.String(validate=validate.Length(min=1, max=500))
    answer = fields.String(validate=validate.Length(min=1))
    category = fields.String(validate=validate.Length(min=1, max=60))
    sort_order = fields.Integer()
    is_published = fields.Boolean()


class TestimonialIn(Schema):
    author_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    city_name = fields.String(load_default="", validate=validate.Length(max=100))
    content = fields.String(required=True, validate=validate.Length(min=1))
    rating = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=5))
    image_url = fields.String(allow_none=True, validate=validate.Length(max=500))
    is_featured = fields.Boolean(load_default=True)
    is_published = fields.Boolean(load_default=True)
    sort_order = fields.Integer(load_default=0)


class TestimonialUpdate(TestimonialIn):
    author_name = fields.String(validate=validate.Length(min=1, max=120))
    city_name = fields.String(validate=validate.Length(max=100))
    content = fields.String(validate=validate.Length(min=1))
    is_featured = fields.Boolean()
    is_published = fields.Boolean()
    sort_order = fields.Integer()


class PageIn(Schema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    body_html = fields.String()
