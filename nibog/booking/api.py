"""/api/bookings: parse, authorise, call the engine, shape the answer. No rules here."""

from __future__ import annotations

import hashlib

from flask import request
from sqlalchemy import select

from nibog.booking import guests, idempotency, service
from nibog.booking import schemas as s
from nibog.booking.fastpath import full_marks
from nibog.booking.models import Booking
from nibog.booking.serialize import booking_to_dict, bookings_to_dicts
from nibog.core.auth import auth_required, current_user, current_user_id
from nibog.core.client_ip import client_ip
from nibog.core.loaded_in_front import FrontLoadedBlueprint
from nibog.core.money import CURRENCY
from nibog.core.pagination import paginate
from nibog.extensions import limiter

blp = FrontLoadedBlueprint("bookings", __name__, url_prefix="/api/bookings", description="Bookings")

# Number + e-mail is the guest's only key: slow down anyone trying many combinations. One bucket
# per address for looking up and cancelling, here and on the site's lookup pages (nibog.web.guest).
GUEST_LOOKUP_LIMIT = "30 per minute"
guest_lookup_limit = limiter.shared_limit(GUEST_LOOKUP_LIMIT, scope="guest-lookup",
                                          key_func=client_ip)


def _raw_body():
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


def _full_mark_keys() -> list[str]:
    return full_marks.full_mark_keys(_raw_body().get("items"))


@blp.post("")
# The slots' full-marks come with the token check's Redis read: a burst's typical answer is
# slot_full, and this makes it one round trip instead of two.
@auth_required(also_read=_full_mark_keys)
# The gate's instance: a request it passes on brings the arguments it loaded (no second load).
@blp.arguments(s.CREATE_BOOKING_IN)
@blp.response(201, s.BookingEnvelope)
@blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}])
def create(args):
    """Hold seats for children in slots (all or nothing); free bookings confirm at once."""
    # The id is all the engine needs; skipping the account read matters in a sales burst.
    user_id = current_user_id()

    def produce():
        booking = service.create_booking(
            user_id=user_id,
            event_id=args["event_id"],
            items=args["items"],
            addons=args["addons"],
            promo_code=args["promo_code"],
            source="app",
        )
        return {"booking": booking_to_dict(booking)}, 201

    return idempotency.respond(
        scope=f"user:{user_id}", key=request.headers.get("Idempotency-Key"),
        endpoint="POST /api/bookings", body=_raw_body(), produce=produce,
    )


@blp.get("")
@auth_required()
@blp.arguments(s.BookingListArgs, location="query")
@blp.response(200, s.BookingPage)
def list_own(args):
    """The caller's bookings, newest first; ``?status=`` filters."""
    stmt = select(Booking).where(Booking.user_id == current_user().id)
    if args.get("status"):
        stmt = stmt.where(Booking.status == args["status"])
    stmt = stmt.order_by(Booking.created_at.desc(), Booking.id.desc())
    return paginate(stmt, args["page"], args["per_page"], bookings_to_dicts)


@blp.get("/<int:booking_id>")
@auth_required()
@blp.response(200, s.BookingEnvelope)
def get_one(booking_id):
    return {"booking": booking_to_dict(service.get_booking_for_user(booking_id, current_user().id))}


@blp.put("/<int:booking_id>/cancel")
@auth_required()
@blp.arguments(s.BookingCancelIn)
@blp.response(200, s.BookingCancelOut)
def cancel(args, booking_id):
    """Cancel and free the seats; a paid booking is refunded as the policy allows."""
    user = current_user()
    service.get_booking_for_user(booking_id, user.id)
    booking, refund = service.cancel_booking(
        booking_id, actor_id=user.id, reason=args.get("reason")
    )
    return {"booking": booking_to_dict(booking), "refund": _refund(booking, refund)}


def _refund(booking: Booking, amount: int) -> dict:
    if booking.confirmed_at is None or booking.total == 0:
        policy = "not_paid"
    else:
        policy = "full" if amount else "none"
    method = None
    if amount:
        # Cash taken at the desk goes back at the desk; online payments to their source.
        method = "cash" if booking.payment_mode == "cash" else "original_payment"
    return {"amount": amount, "currency": CURRENCY, "policy": policy, "method": method}


@blp.post("/validate-promo")
@auth_required(optional=True)
@blp.arguments(s.BookingValidatePromoIn)
@blp.response(200, s.BookingValidatePromoOut)
def validate_promo(args):
    """Preview a promo code's discount for a basket; counts no use."""
    user = current_user(optional=True)
    return service.preview_promo(
        code=args["code"], event_id=args["event_id"], items=args["items"],
        addons=args["addons"], user_id=user.id if user else None,
    )


@blp.post("/guest")
@blp.arguments(s.GuestBookingIn)
@blp.response(201, s.GuestBookingOut)
@blp.doc(parameters=[{"in": "header", "name": "Idempotency-Key", "schema": {"type": "string"}}])
def create_guest(args):
    """Book without an account; the booking is later found by booking number + e-mail."""

    def produce():
        booking, access_code = guests.create_guest_booking(
            guest=args["guest"], children=args["children"], event_id=args["event_id"],
            items=args["items"], addons=args["addons"], promo_code=args["promo_code"],
        )
        return {"booking": booking_to_dict(booking), "access_code": access_code}, 201

    return idempotency.respond(
        # A digest: the scope column is short, an address can be long (a 500 before).
        scope="guest:" + hashlib.sha256(
            args["guest"]["email"].strip().lower().encode()
        ).hexdigest()[:40],
        key=request.headers.get("Idempotency-Key"),
        endpoint="POST /api/bookings/guest", body=_raw_body(), produce=produce,
    )


@blp.post("/guest/lookup")
@guest_lookup_limit
@blp.arguments(s.GuestBookingLookupIn)
@blp.response(200, s.BookingEnvelope)
def guest_lookup(args):
    """A guest's booking by booking number + the e-mail it was made with (404 otherwise)."""
    booking = guests.find_guest_booking(args["booking_number"], args["email"])
    return {"booking": booking_to_dict(booking)}


@blp.post("/guest/cancel")
@guest_lookup_limit
@blp.arguments(s.GuestBookingCancelIn)
@blp.response(200, s.BookingCancelOut)
def guest_cancel(args):
    """A guest cancels with booking number + e-mail + the access code given at booking time."""
    booking = guests.find_guest_booking(args["booking_number"], args["email"], args["access_code"])
    booking, refund = service.cancel_booking(booking.id, actor_id=None, reason=args.get("reason"))
    return {"booking": booking_to_dict(booking), "refund": _refund(booking, refund)}
