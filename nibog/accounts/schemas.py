"""JSON shapes of users, children and favourites (contract: Users, children, favorites)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from nibog.accounts.models import GENDERS, ROLES
from nibog.core.email_field import EmailAddress
from nibog.core.pagination import PageArgsSchema, page_schema
from nibog.core.timeutil import age_in_months, isoformat_ist, today_ist

DATETIME = {"type": "string", "format": "date-time"}


class Lenient(Schema):
    """Input schemas ignore unknown fields: apps send back whole objects they fetched."""

    class Meta:
        unknown = EXCLUDE


class UserSchema(Schema):
    id = fields.Integer()
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    full_name = fields.String()
    role = fields.String()
    email_verified = fields.Boolean()
    phone_verified = fields.Boolean()
    created_at = fields.Function(lambda u: isoformat_ist(u.created_at), metadata=DATETIME)


class ProfileSchema(UserSchema):
    city_id = fields.Integer(allow_none=True)


class ProfileUpdateSchema(Lenient):
    full_name = fields.String(validate=validate.Length(min=1, max=120))
    email = EmailAddress(validate=validate.Length(max=254))
    phone = fields.String(allow_none=True, validate=validate.Length(max=30))
    city_id = fields.Integer(allow_none=True)


class OtpConfirmSchema(Lenient):
    otp = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="6 digits"))


class ChildSchema(Schema):
    id = fields.Integer()
    full_name = fields.String()
    date_of_birth = fields.Date()
    gender = fields.String(allow_none=True)
    school_name = fields.String(allow_none=True)
    age_months = fields.Function(lambda c: age_in_months(c.date_of_birth, today_ist()))


class ChildInputSchema(Lenient):
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    date_of_birth = fields.Date(required=True)
    gender = fields.String(allow_none=True, validate=validate.OneOf(GENDERS))
    school_name = fields.String(allow_none=True, validate=validate.Length(max=200))


class ChildUpdateSchema(ChildInputSchema):
    full_name = fields.String(validate=validate.Length(min=1, max=120))
    date_of_birth = fields.Date()


class NamedRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class FavoriteEventSchema(Schema):
    """A compact event, enough for a favourites list to link to the event page."""

    id = fields.Integer()
    title = fields.String()
    slug = fields.String()
    event_date = fields.Date()
    start_time = fields.Function(lambda e: e.start_time.strftime("%H:%M"))
    end_time = fields.Function(lambda e: e.end_time.strftime("%H:%M"))
    image_url = fields.String(allow_none=True)
    status = fields.String()
    city = fields.Nested(NamedRefSchema)
    venue = fields.Nested(NamedRefSchema)


ChildPageSchema = page_schema(ChildSchema, "ChildPage")
FavoritePageSchema = page_schema(FavoriteEventSchema, "FavoriteEventPage")


# --- admin --------------------------------------------------------------------------------------


class AdminUserSchema(ProfileSchema):
    is_active = fields.Boolean()
    last_login_at = fields.Function(lambda u: isoformat_ist(u.last_login_at), metadata=DATETIME, allow_none=True)
    deleted_at = fields.Function(lambda u: isoformat_ist(u.deleted_at), metadata=DATETIME, allow_none=True)


class AdminChildSchema(ChildSchema):
    deleted_at = fields.Function(lambda c: isoformat_ist(c.deleted_at), metadata=DATETIME, allow_none=True)


class AdminBookingSummarySchema(Schema):
    id = fields.Integer()
    booking_number = fields.String()
    event_id = fields.Integer()
    status = fields.String()
    total = fields.Integer()
    currency = fields.String()
    created_at = fields.Function(lambda b: isoformat_ist(b.created_at), metadata=DATETIME)


class AdminUserDetailSchema(AdminUserSchema):
    children = fields.List(fields.Nested(AdminChildSchema))
    bookings = fields.List(fields.Nested(AdminBookingSummarySchema))


AdminUserPageSchema = page_schema(AdminUserSchema, "AdminUserPage")


class AdminUserListArgs(PageArgsSchema):
    q = fields.String(validate=validate.Length(max=100))
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = fields.Boolean()


class AdminUserCreateSchema(Lenient):
    email = EmailAddress(required=True, validate=validate.Length(max=254))
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    password = fields.String(validate=validate.Length(min=8, max=128), load_only=True)
    phone = fields.String(allow_none=True, validate=validate.Length(max=30))
    role = fields.String(load_default="parent", validate=validate.OneOf(ROLES))
    is_active = fields.Boolean(load_default=True)


class AdminUserUpdateSchema(Lenient):
    email = EmailAddress(validate=validate.Length(max=254))
    full_name = fields.String(validate=validate.Length(min=1, max=120))
    phone = fields.String(allow_none=True, validate=validate.Length(max=30))
    city_id = fields.Integer(allow_none=True)
    role = fields.String(validate=validate.OneOf(ROLES))
    is_active = fields.Boolean()
    email_verified = fields.Boolean()
    phone_verified = fields.Boolean()
