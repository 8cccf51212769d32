"""Favourite events of a parent."""

from __future__ import annotations

from sqlalchemy import Select, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from nibog.accounts.models import User, UserFavorite
from nibog.catalog.models import Event
from nibog.core.errors import NotFound
from nibog.extensions import db

# Drafts are invisible to parents, so they cannot be favourited or listed.
VISIBLE_STATUSES = ("published", "completed", "cancelled")


def visible_event(event_id: int):
    event = db.session.scalar(
        select(Event)
        .where(Event.id == event_id, Event.status.in_(VISIBLE_STATUSES))
        .options(joinedload(Event.city), joinedload(Event.venue))
    )
    if event is None:
        raise NotFound("Event")
    return event


def add_favorite(user: User, event_id: int):
    """Idempotent: favouriting twice (even concurrently) leaves one row."""
    event = visible_event(event_id)
    existing = db.session.scalar(
        select(UserFavorite).where(
            UserFavorite.user_id == user.id, UserFavorite.event_id == event.id
        )
    )
    if existing is None:
        try:
            with db.session.begin_nested():
                db.session.add(UserFavorite(user_id=user.id, event_id=event.id))
        except IntegrityError:
            pass  # a parallel request added it first; the outcome is the same
    return event


def remove_favorite(user: User, event_id: int) -> None:
    db.session.execute(
        delete(UserFavorite).where(
            UserFavorite.user_id == user.id, UserFavorite.event_id == event_id
        )
    )


def is_favorite(user: User, event_id: int) -> bool:
    return db.session.scalar(
        select(UserFavorite.id).where(
            UserFavorite.user_id == user.id, UserFavorite.event_id == event_id
        ).limit(1)
    ) is not None


def favorites_query(user: User) -> Select:
    """The user's favourite events, most recently added first."""
    return (
        select(Event)
        .join(UserFavorite, UserFavorite.event_id == Event.id)
        .where(UserFavorite.user_id == user.id, Event.status.in_(VISIBLE_STATUSES))
        .options(joinedload(Event.city), joinedload(Event.venue))
        .order_by(UserFavorite.created_at.desc(), UserFavorite.id.desc())
    )
