"""Server-side prices: the browser's numbers are never read.

A game's price falls back from the slot to the event's game to the template; an add-on variant's
price falls back to its add-on's.
"""

from __future__ import annotations

from nibog.catalog.models import AddOn, AddOnVariant, EventGame, GameSlot, GameTemplate


def item_price(slot: GameSlot, event_game: EventGame, template: GameTemplate) -> int:
    for price in (slot.price, event_game.price, template.default_price):
        if price is not None:
            return int(price)
    return 0


def addon_unit_price(addon: AddOn, variant: AddOnVariant | None) -> int:
    if variant is not None and variant.price is not None:
        return int(variant.price)
    return int(addon.price)
