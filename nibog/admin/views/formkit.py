"""Form helpers for the sales, money, people and messages pages: a service's refusal shown at
the field it concerns (or above the form), in the translated words staff read for the
refusals they meet most. (Rupee amounts: ``forms.RupeesField``.)"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields.choices import SelectChoice

from nibog.core import boundary
from nibog.core.errors import AppError

# What staff read for the engine's refusals (the service's English message otherwise).
MESSAGES = {
    "slot_full": _l("That slot has no seats left."),
    "already_booked": _l("This child already has a seat in that slot."),
    "child_not_eligible": _l("The child's age on the event day is outside the game's age band."),
    "registration_closed": _l("This event or slot no longer takes bookings."),
    "slot_closed": _l("This slot is closed for booking."),
    "promo_invalid": _l("This promo code cannot be used here."),
    "promo_exhausted": _l("This promo code has no uses left."),
    "user_inactive": _l("This account is deactivated."),
    "booking_not_cancellable": _l("This booking cannot be cancelled in its present state."),
    "booking_not_movable": _l("This booking cannot be changed in its present state."),
    "item_checked_in": _l("A checked-in child cannot be moved."),
    "same_slot": _l("The child is already in this slot."),
    "no_ticket": _l("Only a confirmed or completed booking has a ticket."),
    "payment_not_refundable": _l("Nothing can be refunded on this payment."),
    "flag_resolved": _l("This flag was resolved already."),
    "entry_not_waiting": _l("This entry is no longer waiting."),
    "cannot_modify_self": _l("You cannot change your own role or deactivate yourself."),
    "message_has_secret": _l("This message carried a one-time code or link; ask for a new one "
                             "instead."),
    "message_content_gone": _l("This message's content is no longer kept; it cannot be resent."),
    "message_queued": _l("This message is still waiting to be sent."),
    "seats_unavailable": _l("The seats of this booking are no longer available."),
    "not_found": _l("This record does not exist (any more)."),
}

# Refusals that concern one field of a form, by code (the rest go above the form).
FIELD_OF = {
    "slot_full": "slot_ids",
    "already_booked": "slot_ids",
    "child_not_eligible": "slot_ids",
    "slot_closed": "slot_ids",
    "promo_invalid": "promo_code",
    "promo_exhausted": "promo_code",
}


def message_for(exc: AppError) -> str:
    text = MESSAGES.get(exc.code)
    return str(text) if text is not None else exc.message


def refusal(exc: AppError) -> str:
    """``message_for`` after undoing what the refused service flushed (see ``apply_error``)."""
    boundary.rollback()
    return message_for(exc)


def apply_error(form, exc: AppError, field_of: dict[str, str] | None = None) -> list[str]:
    """Put a service's refusal on the form: a validation error's details at their fields, a
    known refusal at its field; returns what belongs to no field (shown above the form).

    What the refused service flushed is rolled back first: the page is then drawn from the
    database as it was (and a transaction an error aborted can still be read from)."""
    boundary.rollback()
    fields = dict(form._fields) if form is not None else {}
    general: list[str] = []
    if exc.code == "validation_error" and isinstance(exc.details, dict):
        for name, problems in exc.details.items():
            texts = [str(p) for p in problems] if isinstance(problems, list) else [str(problems)]
            target = fields.get(name) or fields.get((field_of or {}).get(name, ""))
            if target is not None:
                target.errors = [*list(target.errors or []), *texts]
            else:
                general.extend(texts)
        return general or ([] if exc.details else [exc.message])
    name = {**FIELD_OF, **(field_of or {})}.get(exc.code)
    if name and name in fields:
        fields[name].errors = [*list(fields[name].errors or []), message_for(exc)]
        return []
    return [message_for(exc)]


def choices(pairs) -> list[SelectChoice]:
    """(value, label) pairs as WTForms 3.3 wants a field's choices."""
    return [SelectChoice(value, label) for value, label in pairs]
