"""Guest bookings: parents who book without an account.

Design: a guest's children need an owner (``children.user_id`` is NOT NULL), so each guest
e-mail gets a *placeholder* user: no e-mail, no phone, no password, inactive - it can never sign
in and never collides with the unique e-mail of a real account. The booking itself carries
``guest_email/name/phone`` and no ``user_id``. Booking again with the same e-mail reuses the
placeholder and its children (same name and birth date), so ``already_booked`` still protects a
guest child. When an account with that e-mail appears, ``attach_guest_bookings(user)`` moves the
bookings and children over to it; a guest booking made with a verified account's address after
that finds the child among the account's children (same name and birth date).

Requests for one e-mail are serialised by an advisory lock held until their transaction ends:
the placeholder and its children do not exist yet when a double submit's second request reads,
so without it each request made its own child and both held a seat.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select, update

from nibog.accounts.models import Child, User
from nibog.auth.otp import normalise_phone
from nibog.booking import holds
from nibog.booking.access import access_code_matches, hash_access_code
from nibog.booking.models import Booking, BookingItem
from nibog.booking.numbers import ALPHABET
from nibog.booking.service import create_booking
from nibog.core import locking
from nibog.core.errors import NotFound, ValidationFailed
from nibog.core.secrets_compare import constant_time_equal
from nibog.extensions import db
from nibog.payments.models import Payment

ACCESS_CODE_LENGTH = 10


def _lock_email(email: str) -> None:
    locking.hold_for_transaction(f"guest-email:{email}", "guest_email_lock")


def _placeholder_for(email: str) -> User | None:
    return db.session.scalar(
        select(User)
        .join(Child, Child.user_id == User.id)
        .join(BookingItem, BookingItem.child_id == Child.id)
        .join(Booking, Booking.id == BookingItem.booking_id)
        .where(
            Booking.guest_email == email,
            Booking.user_id.is_(None),
            User.email.is_(None),
            User.password_hash.is_(None),
            User.is_active_account.is_(False),
        )
        .order_by(User.id)
        .limit(1)
    )


def _children_for(owner: User, children: list[dict]) -> list[Child]:
    existing = list(
        db.session.scalars(select(Child).where(Child.user_id == owner.id, Child.deleted_at.is_(None)))
    )
    out = []
    for spec in children:
        name = spec["full_name"].strip()
        match = next(
            (c for c in existing
             if c.full_name.casefold() == name.casefold() and c.date_of_birth == spec["date_of_birth"]),
            None,
        )
        if match is None:
            match = Child(user_id=owner.id, full_name=name, date_of_birth=spec["date_of_birth"],
                          gender=spec.get("gender"))
            db.session.add(match)
            existing.append(match)
        out.append(match)
    db.session.flush()
    return out


def create_guest_booking(
    *, guest: dict, children: list[dict], event_id: int, items: list[dict],
    addons: list[dict] | None, promo_code: str | None, source: str = "guest",
    payment_mode: str = "online",
) -> tuple[Booking, str]:
    """Book through the same engine; returns the booking and its one-time access code."""
    email = guest["email"].strip().lower()
    resolved = []
    for n, item in enumerate(items):
        index = item["child_index"]
        if not 0 <= index < len(children):
            raise ValidationFailed({"items": [f"items[{n}].child_index has no matching child"]})
        resolved.append(index)
    _lock_email(email)
    owner = _placeholder_for(email)
    if owner is None:
        owner = User(email=None, phone=None, password_hash=None, full_name=guest["full_name"].strip(),
                     role="parent", is_active_account=False)
        db.session.add(owner)
        db.session.flush()
    kids = _children_for(owner, children)
    _ensure_not_booked_in_account(email, kids, resolved, items)
    booking = create_booking(
        user_id=None,
        event_id=event_id,
        items=[{"child_id": kids[i].id, "slot_id": item["slot_id"]}
               for i, item in zip(resolved, items, strict=True)],
        addons=addons,
        promo_code=promo_code,
        source=source,
        guest={**guest, "email": email},
        child_owner_id=owner.id,
        payment_mode=payment_mode,
    )
    code = "".join(secrets.choice(ALPHABET) for _ in range(ACCESS_CODE_LENGTH))
    booking.access_code_hash = hash_access_code(code)
    db.session.flush()
    return booking, code


def _ensure_not_booked_in_account(
    email: str, kids: list[Child], resolved: list[int], items: list[dict]
) -> None:
    """409 already_booked when the account that proved this address holds a live seat in a
    requested slot for a child of the same name and birth date (its guest bookings were
    attached to it, children included, so the placeholder no longer has them)."""
    wanted = {(kids[i].full_name.casefold(), kids[i].date_of_birth, item.get("slot_id")): kids[i]
              for i, item in zip(resolved, items, strict=True)}
    slot_ids = sorted({slot_id for _, _, slot_id in wanted if type(slot_id) is int})
    if not slot_ids:
        return
    held = db.session.execute(
        select(BookingItem.slot_id, BookingItem.booking_id, Child.full_name, Child.date_of_birth)
        .join(Child, Child.id == BookingItem.child_id)
        .join(User, User.id == Child.user_id)
        .where(
            BookingItem.is_live.is_(True),
            BookingItem.slot_id.in_(slot_ids),
            User.email == email,
            User.email_verified.is_(True),
            Child.deleted_at.is_(None),
        )
    ).all()
    taken = {}
    for slot_id, booking_id, name, born in held:
        kid = wanted.get((name.casefold(), born, slot_id))
        if kid is not None:
            taken[(kid.id, slot_id)] = booking_id
    if taken:
        raise holds.already_booked(list(taken), taken)


def find_guest_booking(booking_number: str, email: str, access_code: str | None = None) -> Booking:
    """404 unless number and e-mail (and the access code, when given) match a guest booking."""
    booking = db.session.scalar(
        select(Booking).where(Booking.booking_number == booking_number.strip().upper())
    )
    email = email.strip().lower()
    if (
        booking is None
        or booking.guest_email is None
        or not constant_time_equal(booking.guest_email, email)
        or (access_code is not None and not access_code_matches(booking, access_code))
    ):
        raise NotFound("Booking")
    return booking


def find_guest_booking_by_contact(booking_number: str, contact: str, access_code: str) -> Booking:
    """A guest's booking by number, the e-mail *or* phone number it was made with, and its
    access code; 404 for any mismatch (which of them is not said)."""
    booking = db.session.scalar(
        select(Booking).where(Booking.booking_number == (booking_number or "").strip().upper())
    )
    contact = (contact or "").strip()
    if booking is None or booking.guest_email is None or not access_code:
        raise NotFound("Booking")
    if "@" in contact:
        matches = constant_time_equal(booking.guest_email, contact.lower())
    else:
        try:
            phone = normalise_phone(contact)
            stored = normalise_phone(booking.guest_phone) if booking.guest_phone else None
        except ValidationFailed:
            phone, stored = None, None
        matches = constant_time_equal(stored, phone)
    if not matches or not access_code_matches(booking, access_code):
        raise NotFound("Booking")
    return booking


def attach_guest_bookings(user: User) -> int:
    """Give a (new) account the guest bookings made with its e-mail, and their children.

    Call it once the account owns the address (after registration, better after the e-mail is
    verified). Flushes only; returns how many bookings were attached.
    """
    if not user.email:
        return 0
    # After a guest booking in flight for this address, not beside it (it would keep a child
    # on the placeholder).
    _lock_email(user.email.lower())
    bookings = list(
        db.session.scalars(
            select(Booking).where(Booking.guest_email == user.email.lower(), Booking.user_id.is_(None))
        )
    )
    if not bookings:
        return 0
    owner_ids = set(
        db.session.scalars(
            select(Child.user_id)
            .join(BookingItem, BookingItem.child_id == Child.id)
            .where(BookingItem.booking_id.in_([b.id for b in bookings]))
        )
    )
    placeholders = set(
        db.session.scalars(
            select(User.id).where(
                User.id.in_(owner_ids), User.email.is_(None), User.password_hash.is_(None),
                User.is_active_account.is_(False),
            )
        )
    )
    for child in db.session.scalars(select(Child).where(Child.user_id.in_(placeholders))):
        child.user_id = user.id
    for booking in bookings:
        booking.user_id = user.id
    # Their payments too: a payment's owner is who may read it and whose history lists it.

    db.session.execute(
        update(Payment)
        .where(Payment.booking_id.in_([b.id for b in bookings]), Payment.user_id.is_(None))
        .values(user_id=user.id)
    )
    db.session.flush()
    return len(bookings)
