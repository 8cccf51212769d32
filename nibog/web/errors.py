"""A service's refusal, said to a parent in their language and placed next to the field it is
about. Services speak English to the API (``exc.message``); pages show the translated sentence
for the refusal's code when there is one, so Hindi pages stay Hindi."""

from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import default_exceptions

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
    "invalid_token": _l("This link has already been used or is no longer valid."),
    "token_expired": _l("This link has expired. Ask for a new one."),
    "already_verified": _l("Your email address is already confirmed."),
    "waitlist_entry_closed": _l("This waiting-list entry is already closed."),
    "busy": _l("Too many people are booking this right now. Please try again in a moment."),
    "service_unavailable": _l("A service we depend on is not answering. Please try again in a "
                              "moment."),
    "internal_error": _l("Something went wrong on our side. Please try again in a moment."),
    "forbidden": _l("You are not allowed to do this."),
    "unauthorized": _l("Please sign in to continue."),
}

# The error page's sentence by status, when the refusal's own is not in the visitor's language.
STATUS_MESSAGES = {
    400: _l("This request could not be handled. Please go back, reload the page and try again."),
    401: _l("Please sign in to continue."),
    403: _l("You are not allowed to do this."),
    405: _l("This page cannot be opened that way. Please go back and try again."),
    409: _l("This cannot be done now. Please go back, reload the page and check."),
    413: _l("What you sent is too large."),
    503: _l("We are very busy right now. Please try again in a moment."),
}
SOMETHING_WRONG = _l("Something went wrong on our side. Please try again in a moment.")
# The language the services' (and werkzeug's) own sentences are written in.
SOURCE_LANGUAGE = "en"

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


def error_message(status: int, code: str | None = None, message=None) -> str:
    """The error page's sentence, in the visitor's language: the refusal's by its code, else a
    page's own (already translated) sentence, else one for the status. A service's English
    detail is shown only to a visitor reading English."""
    if code in MESSAGES:
        return message_for(AppError(code, str(message or ""), status))
    default = default_exceptions.get(status)
    is_default = default is not None and message == default.description
    if message and not is_default and (code is None or _reads_source_language()):
        return str(message)
    return str(STATUS_MESSAGES.get(status, SOMETHING_WRONG))


def _reads_source_language() -> bool:
    locale = get_locale()
    return locale is None or locale.language == SOURCE_LANGUAGE


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
