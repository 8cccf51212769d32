"""factory_boy factories, and the builders made of them. Rows are committed: requests, jobs and
threads read them on connections of their own.

Users, children, the catalogue (cities to slots, add-ons), bookings (``make_booking``: rows
written straight to the database with the seat counts kept consistent, for tests of what
happens around a booking rather than of the booking engine's rules) and payments (``pay``).
"""

from __future__ import annotations

from datetime import date, time, timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from nibog.accounts.models import Child, User
from nibog.auth.passwords import hash_password
from nibog.booking.models import Booking, BookingItem
from nibog.booking.numbers import new_booking_number
from nibog.catalog.models import (
    AddOn,
    AddOnVariant,
    City,
    Event,
    EventGame,
    GameSlot,
    GameTemplate,
    Venue,
)
from nibog.core.timeutil import today_ist, utcnow
from nibog.extensions import db
from nibog.payments.models import Payment, Refund

PASSWORD = "correct-horse-battery"
_PASSWORD_HASH = hash_password(PASSWORD)  # argon2 is slow on purpose; hash once per run


class Base(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"


class UserFactory(Base):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"parent{n}@example.com")
    phone = factory.Sequence(lambda n: f"+9198765{n:05d}")
    full_name = factory.Faker("name", locale="en_IN")
    password_hash = _PASSWORD_HASH
    role = "parent"


class ChildFactory(Base):
    class Meta:
        model = Child

    parent = factory.SubFactory(UserFactory)
    user_id = factory.SelfAttribute("parent.id")
    full_name = factory.Faker("first_name", locale="en_IN")
    date_of_birth = factory.LazyFunction(lambda: today_ist() - timedelta(days=30 * 20))


class CityFactory(Base):
    class Meta:
        model = City

    name = factory.Sequence(lambda n: f"City {n}")
    state = "Telangana"
    slug = factory.Sequence(lambda n: f"city-{n}")


class VenueFactory(Base):
    class Meta:
        model = Venue

    city = factory.SubFactory(CityFactory)
    city_id = factory.SelfAttribute("city.id")
    name = factory.Sequence(lambda n: f"Venue {n}")
    address = "1 Stadium Road"


class GameTemplateFactory(Base):
    class Meta:
        model = GameTemplate

    name = factory.Sequence(lambda n: f"Game {n}")
    category = "running"
    min_age_months = 13
    max_age_months = 84
    duration_minutes = 60
    default_price = 79900


class EventFactory(Base):
    class Meta:
        model = Event

    venue = factory.SubFactory(VenueFactory)
    venue_id = factory.SelfAttribute("venue.id")
    city_id = factory.SelfAttribute("venue.city_id")
    title = factory.Sequence(lambda n: f"NIBOG Games {n}")
    slug = factory.Sequence(lambda n: f"nibog-games-{n}")
    event_date = factory.LazyFunction(lambda: today_ist() + timedelta(days=30))
    start_time = time(9, 0)
    end_time = time(17, 0)
    status = "published"


class EventGameFactory(Base):
    class Meta:
        model = EventGame

    event = factory.SubFactory(EventFactory)
    event_id = factory.SelfAttribute("event.id")
    template = factory.SubFactory(GameTemplateFactory)
    game_template_id = factory.SelfAttribute("template.id")


class GameSlotFactory(Base):
    class Meta:
        model = GameSlot

    event_game = factory.SubFactory(EventGameFactory)
    event_game_id = factory.SelfAttribute("event_game.id")
    start_time = time(10, 0)
    end_time = time(11, 0)
    capacity = 10


class AddOnFactory(Base):
    class Meta:
        model = AddOn
        exclude = ("event",)

    event = factory.SubFactory(EventFactory)
    event_id = factory.SelfAttribute("event.id")
    name = "Meal Pack"
    price = 29900


class AddOnVariantFactory(Base):
    class Meta:
        model = AddOnVariant

    addon = factory.SubFactory(AddOnFactory)
    addon_id = factory.SelfAttribute("addon.id")
    name = "M"
    stock = 10


PRICE = 79900
LIVE = ("pending_payment", "confirmed", "completed")  # statuses whose items hold a seat


class BookingFactory(Base):
    """A booking row alone (no items, no seats taken): ``make_booking`` builds a whole one."""

    class Meta:
        model = Booking
        exclude = ("user", "event")

    user = factory.SubFactory(UserFactory)
    user_id = factory.LazyAttribute(lambda o: o.user.id if o.user is not None else None)
    event = factory.SubFactory(EventFactory)
    event_id = factory.SelfAttribute("event.id")
    booking_number = factory.LazyFunction(new_booking_number)
    status = "confirmed"
    source = "app"
    payment_mode = "online"
    subtotal = PRICE
    discount = 0
    total = factory.LazyAttribute(lambda o: o.subtotal - o.discount)
    hold_expires_at = factory.LazyAttribute(
        lambda o: utcnow() + timedelta(minutes=15) if o.status == "pending_payment" else None)
    confirmed_at = factory.LazyAttribute(
        lambda o: utcnow() if o.status in ("confirmed", "completed") else None)
    expired_at = factory.LazyAttribute(lambda o: utcnow() if o.status == "expired" else None)


class BookingItemFactory(Base):
    class Meta:
        model = BookingItem

    booking_id = None
    child_id = None
    slot_id = None
    price = PRICE
    is_live = True


class PaymentFactory(Base):
    """A captured sandbox payment of ``booking``'s total."""

    class Meta:
        model = Payment
        exclude = ("booking",)

    booking = factory.SubFactory(BookingFactory)
    booking_id = factory.SelfAttribute("booking.id")
    user_id = factory.SelfAttribute("booking.user_id")
    provider = "sandbox"
    provider_order_id = factory.LazyAttribute(
        lambda o: f"order_{o.booking.id}_{o.booking.booking_number}")
    provider_payment_id = factory.LazyAttribute(
        lambda o: f"pay_{o.booking.id}_{o.booking.booking_number}")
    amount = factory.SelfAttribute("booking.total")
    status = "captured"
    captured_at = factory.LazyFunction(utcnow)


def make_booking(user, pairs, *, status="confirmed", price=PRICE, seats=True, **fields) -> Booking:
    """A committed booking of each ``(child, slot)`` in ``pairs`` at ``price`` each (``user``
    None: a guest's). With a live status each item takes a seat (the slot's ``booked_count``),
    as the engine would; ``seats=False`` leaves the counts alone. ``fields`` set the booking's
    columns (``subtotal`` defaults to the items' sum, ``total`` to subtotal - discount)."""
    slot = db.session.get(GameSlot, pairs[0][1].id)
    event_id = db.session.get(EventGame, slot.event_game_id).event_id
    fields.setdefault("subtotal", price * len(pairs))
    booking = BookingFactory(user=user, event=db.session.get(Event, event_id), status=status,
                             **fields)
    live = status in LIVE
    for child, s in pairs:
        db.session.add(BookingItem(booking_id=booking.id, child_id=child.id, slot_id=s.id,
                                   price=price, is_live=live))
        if live and seats:
            db.session.get(GameSlot, s.id).booked_count += 1
    db.session.commit()
    return booking


def pay(booking, *, refunded=0, refund_status="processed", captured_at=None) -> Payment:
    """A captured payment of the booking's total, optionally with one refund of ``refunded``."""
    payment = PaymentFactory(
        booking=booking,
        status="captured" if not refunded else "refunded",
        captured_at=captured_at or utcnow(),
        amount_refunded=refunded if refund_status == "processed" else 0,
    )
    if refunded:
        db.session.add(Refund(payment_id=payment.id, amount=refunded, status=refund_status))
        db.session.commit()
    return payment


def birth_date_for_age(months: int, on: date | None = None) -> date:
    """A birth date that makes a child exactly ``months`` old (whole months) on ``on``."""
    on = on or today_ist()
    year, month = divmod(on.year * 12 + (on.month - 1) - months, 12)
    day = min(on.day, 28)
    return date(year, month + 1, day)
