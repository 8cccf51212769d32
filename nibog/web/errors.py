"""A service's refusal, said to a parent in their language and placed next to the field it is
about. Services speak English to the API (``exc.message``); pages show the translated sentence
for the refusal's code when there is one, so Hindi pages stay Hindi."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from nibog.core.errors import AppError

MESSAGES = {
    "invalid_credentials": _l("Email or password is incorrect."),
    "email_taken": _l("An account with this email already exists. Sign in instead?"),
    "phone_taken": _l("An account with this mobile number already exists."),
    "otp_expired": _l("This code has expired. Ask for a new one."),
    "invalid_otp": _l("That code is not right. Check the SMS and try again."),
    "otp_attempts_exceeded": _l("Too many wrong codes. Ask for a new code."),
    "rate_limited": _l("Too many tries. Please wait a little and try again."),
    "slot_full": _l("Sorry, a slot you chose has just filled up."),
    "slot_closed": _l("Booking is closed for a slot you chose."),
    "already_booked": _l("This child is already booked into that slot."),
    "slot_overlap": _l("A child cannot play two games whose times overlap."),
    "child_not_eligible": _l("The child's age on the event day is outside the game's age band."),
    "registration_closed": _l("This event is not open for booking."),
    "promo_invalid": _l("This promo code cannot be used for this booking."),
    "promo_exhausted": _l("This promo code has been used up."),
    "addon_out_of_stock": _l("Not enough stock left for an add-on you chose."),
    "hold_expired": _l("Your seats were held for a limited time and the hold has expired."),
    "booking_not_payable": _l("This booking cannot be paid now."),
    "booking_not_cancellable": _l("This booking can no longer be cancelled."),
    "invalid_signature": _l("We could not verify this payment, so the booking is not paid yet. "
                            "Please try again."),
    "payment_gateway_error": _l("The payment service did not answer. Nothing was charged; please try again."),
    "not_found": _l("We could not find that."),
}

# Codes whose English text carries a detail worth keeping (which promo rule failed, a
# registration date): the service's own sentence is shown after the translated one.
_KEEP_DETAIL = {"promo_invalid", "registration_closed", "booking_not_cancellable", "rate_limited"}


def message_for(exc: AppError) -> str:
    text = MESSAGES.get(exc.code)
    if text is None:
        return exc.message
    if exc.code in _KEEP_DETAIL and exc.message:
        return f"{text} ({exc.message})"
    return str(text)


def attach(form, exc: AppError, *, field_map: dict[str, str] | None = None) -> None:
    """Put a service error on the form: per-field details next to their fields, the rest at
    the top. ``field_map`` renames the API's field names to the form's."""
    field_map = field_map or {}
    placed = False
    if exc.code == "validation_error" and isinstance(exc.details, dict):
        for name, messages in exc.details.items():
            field = getattr(form, field_map.get(name, name), None)
            if field is None or not hasattr(field, "errors"):
                continue
            field.errors = list(field.errors or []) + [
                m if isinstance(m, str) else str(m) for m in _flat(messages)
            ]
            placed = True
    if not placed:
        form.form_errors.append(message_for(exc))


def _flat(messages):
    if isinstance(messages, dict):
        for value in messages.values():
            yield from _flat(value)
    elif isinstance(messages, (list, tuple)):
        for value in messages:
            yield from _flat(value)
    else:
        yield messages
