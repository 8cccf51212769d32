"""The favourite toggle on the event page (nibog.accounts.favorites, as the API's
``favorites.add_favorite``): a plain form, so it works without JavaScript; the site-wide CSRF
check guards it. The list itself is ``/account/favorites``."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from nibog.accounts import favorites as favorites_service

bp = Blueprint("web_favorites", __name__, url_prefix="/events")


def _back(event):
    return redirect(url_for("web.event", event_id=event.id, slug=event.slug), 303)


def _sign_in_first(event_id: int):
    # Signed out meanwhile (the page showed the button): sign in, then back to the event page,
    # where the button waits - a sign-in does not add it for them on the way.
    event = favorites_service.visible_event(event_id)
    flash(_("Sign in to keep your favourite events."), "info")
    return redirect(url_for("web_auth.login", next=url_for(
        "web.event", event_id=event.id, slug=event.slug)), 303)


@bp.post("/<int:event_id>/favourite")
def add(event_id: int):
    if not current_user.is_authenticated:
        return _sign_in_first(event_id)
    event = favorites_service.add_favorite(current_user._get_current_object(), event_id)
    flash(_("Added to your favourites."), "success")
    return _back(event)


@bp.post("/<int:event_id>/favourite/remove")
def remove(event_id: int):
    if not current_user.is_authenticated:
        return _sign_in_first(event_id)
    event = favorites_service.visible_event(event_id)
    favorites_service.remove_favorite(current_user._get_current_object(), event.id)
    flash(_("Removed from your favourites."), "success")
    return _back(event)
