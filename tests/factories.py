"""factory_boy factories. Rows are committed: requests run in their own sessions."""

from __future__ import annotations

from datetime import date, time, timedelta

import factory
from factory.alchemy import SQLAlchemyModelFactory

from nibog.accounts.models import Child, User
from nibog.auth.passwords import hash_password
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
from nibog.core.timeutil import today_ist
from nibog.extensions import db

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


def birth_date_for_age(months: int, on: date | None = None) -> date:
    """A birth date that makes a child exactly ``months`` old (whole months) on ``on``."""
    on = on or today_ist()
    year, month = divmod(on.year * 12 + (on.month - 1) - months, 12)
    day = min(on.day, 28)
    return date(year, month + 1, day)
