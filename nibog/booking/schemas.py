"""Request and response shapes of /api/bookings (the contract's ``booking`` object)."""

from __future__ import annotations

from marshmallow import EXCLUDE, Schema, fields, validate

from nibog.booking.models import BOOKING_STATUSES
from nibog.core.email_field import EmailAddress
from nibog.core.pagination import PageArgsSchema, page_schema


class _In(Schema):
    # Unknown fields (a client-sent "price", say) are dropped, never read.
    class Meta:
        unknown = EXCLUDE


class BookingItemIn(_In):
    child_id = fields.Integer(required=True, strict=True)
    slot_id = fields.Integer(required=True, strict=True)


class BookingAddonIn(_In):
    addon_id = fields.Integer(required=True, strict=True)
    variant_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    quantity = fields.Integer(load_default=1, strict=True, validate=validate.Range(min=1, max=20))


class CreateBookingIn(_In):
    event_id = fields.Integer(required=True, strict=True)
    items = fields.List(fields.Nested(BookingItemIn), required=True, validate=validate.Length(min=1, max=20))
    addons = fields.List(fields.Nested(BookingAddonIn), load_default=list)
    promo_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


# One instance for the view and the full-slot gate: the gate hands the view the arguments it
# loaded with it (core.loaded_in_front), and a fresh instance per request would cost a build.
CREATE_BOOKING_IN = CreateBookingIn()


class PromoPreviewItemIn(_In):
    # Optional: a guest previews a code before any child exists; then eligibility is not checked.
    child_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    slot_id = fields.Integer(required=True, strict=True)


class BookingValidatePromoIn(_In):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    event_id = fields.Integer(required=True, strict=True)
    items = fields.List(fields.Nested(PromoPreviewItemIn), required=True,
                        validate=validate.Length(min=1, max=20))
    addons = fields.List(fields.Nested(BookingAddonIn), load_default=list)


class BookingValidatePromoOut(Schema):
    valid = fields.Boolean()
    discount = fields.Integer()
    subtotal = fields.Integer(allow_none=True)
    total = fields.Integer(allow_none=True)
    currency = fields.String(metadata={"description": "of discount, subtotal and total (paise)"})
    message = fields.String()
    code = fields.String(allow_none=True, metadata={"description": "why not valid"})


class BookingCancelIn(_In):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class BookingGuestIn(_In):
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    email = EmailAddress(required=True, validate=validate.Length(max=254))
    phone = fields.String(required=True, validate=validate.Regexp(r"^\+?[0-9 \-]{8,20}$"))


class GuestBookingChildIn(_In):
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    date_of_birth = fields.Date(required=True)
    gender = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(("male", "female", "other")))


class GuestBookingItemIn(_In):
    child_index = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    slot_id = fields.Integer(required=True, strict=True)


class GuestBookingIn(_In):
    guest = fields.Nested(BookingGuestIn, required=True)
    children = fields.List(fields.Nested(GuestBookingChildIn), required=True,
                           validate=validate.Length(min=1, max=10))
    event_id = fields.Integer(required=True, strict=True)
    items = fields.List(fields.Nested(GuestBookingItemIn), required=True,
                        validate=validate.Length(min=1, max=20))
    addons = fields.List(fields.Nested(BookingAddonIn), load_default=list)
    promo_code = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


class GuestBookingLookupIn(_In):
    booking_number = fields.String(required=True, validate=validate.Length(min=1, max=20))
    email = EmailAddress(required=True)


class GuestBookingCancelIn(GuestBookingLookupIn):
    access_code = fields.String(required=True, validate=validate.Length(min=1, max=40))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))


class BookingListArgs(PageArgsSchema):
    status = fields.String(load_default=None, validate=validate.OneOf(BOOKING_STATUSES))


class BookingChildRef(Schema):
    id = fields.Integer()
    full_name = fields.String()


class BookingSlotRef(Schema):
    id = fields.Integer()
    start_time = fields.String()
    end_time = fields.String()
    game_name = fields.String()


class BookingItemOut(Schema):
    id = fields.Integer()
    child = fields.Nested(BookingChildRef)
    slot = fields.Nested(BookingSlotRef)
    price = fields.Integer()
    checked_in_at = fields.String(allow_none=True)


class BookingAddonOut(Schema):
    addon_id = fields.Integer()
    variant_id = fields.Integer(allow_none=True)
    name = fields.String()
    quantity = fields.Integer()
    unit_price = fields.Integer()
    total = fields.Integer()


class BookingVenueRef(Schema):
    id = fields.Integer()
    name = fields.String()


class BookingEventRef(Schema):
    id = fields.Integer()
    title = fields.String()
    event_date = fields.String()
    venue = fields.Nested(BookingVenueRef)


class BookingOut(Schema):
    id = fields.Integer()
    booking_number = fields.String()
    status = fields.String()
    event = fields.Nested(BookingEventRef)
    items = fields.List(fields.Nested(BookingItemOut))
    addons = fields.List(fields.Nested(BookingAddonOut))
    subtotal = fields.Integer()
    discount = fields.Integer()
    total = fields.Integer()
    currency = fields.String()
    promo_code = fields.String(allow_none=True)
    hold_expires_at = fields.String(allow_none=True)
    created_at = fields.String()
    cancelled_at = fields.String(allow_none=True)


class BookingEnvelope(Schema):
    booking = fields.Nested(BookingOut)


class BookingRefundOut(Schema):
    amount = fields.Integer()
    currency = fields.String()
    policy = fields.String(metadata={"description": "full | none | not_paid"})
    method = fields.String(allow_none=True, metadata={"description": "original_payment | cash"})


class BookingCancelOut(Schema):
    booking = fields.Nested(BookingOut)
    refund = fields.Nested(BookingRefundOut)


class GuestBookingOut(Schema):
    booking = fields.Nested(BookingOut)
    access_code = fields.String()


BookingPage = page_schema(BookingOut, "BookingPage")
