"""An e-mail address field for the schemas, checked by ``email-validator`` (RFC 5321/5322 syntax,
internationalised domains and local parts, dot-atom rules, length limits, reserved domains such as
``.invalid`` or ``localhost``) rather than marshmallow's single regular expression. Syntax only:
no DNS lookup in a request (``check_deliverability=False``); bounces are handled after sending.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from marshmallow import ValidationError, fields, validate


def check_email(value: str) -> str:
    """The address as typed (stripped), or ValidationError saying what is wrong with it."""
    value = (value or "").strip()
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationError(f"Not a valid email address: {exc}") from None
    return value


class EmailAddress(fields.Email):
    """``fields.Email`` (so the OpenAPI says ``format: email``) with email-validator's check in
    place of marshmallow's regular expression."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.validators = [v for v in self.validators if not isinstance(v, validate.Email)]

    def _deserialize(self, value, attr, data, **kwargs):
        return check_email(super()._deserialize(value, attr, data, **kwargs))
