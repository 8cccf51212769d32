"""Request and response shapes of /api/auth."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from nibog.accounts.schemas import Lenient, UserSchema
from nibog.core.email_field import EmailAddress

PASSWORD = validate.Length(min=8, max=128, error="Password must be 8 to 128 characters")


class RegisterSchema(Lenient):
    email = EmailAddress(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, validate=PASSWORD, load_only=True)
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    phone = fields.String(allow_none=True, validate=validate.Length(max=30))


class LoginSchema(Lenient):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = fields.String(required=True, validate=validate.Length(min=1, max=128))


class GoogleLoginSchema(Lenient):
    id_token = fields.String(required=True, validate=validate.Length(min=1, max=8192))


class PhoneSchema(Lenient):
    phone = fields.String(required=True, validate=validate.Length(min=1, max=30))


class PhoneVerifySchema(PhoneSchema):
    otp = fields.String(required=True, validate=validate.Regexp(r"^\d{6}$", error="6 digits"))


class ForgotPasswordSchema(Lenient):
    email = fields.String(required=True, validate=validate.Length(min=1, max=254))


class ResetPasswordSchema(Lenient):
    token = fields.String(required=True, validate=validate.Length(min=1, max=1000))
    password = fields.String(required=True, validate=PASSWORD, load_only=True)


class ChangePasswordSchema(Lenient):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=128))
    new_password = fields.String(required=True, validate=PASSWORD)


class VerifyEmailArgs(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=1000))


class TokenResponseSchema(Schema):
    access_token = fields.String()
    refresh_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    user = fields.Nested(UserSchema)


class AccessTokenResponseSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer()
    user = fields.Nested(UserSchema)


class AcceptedSchema(Schema):
    message = fields.String()


class OtpSentSchema(AcceptedSchema):
    expires_in = fields.Integer()
    resend_after = fields.Integer()
