"""Flask-WTF forms of the parent site's sign-in pages. They check shapes only; the services
decide (and their errors are put back on the form by ``nibog.web.errors.attach``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField, TelField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

PASSWORD_RULE = Length(min=8, max=128, message=_l("Use 8 to 128 characters."))


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email.")),
                                                Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                         Length(max=128)])
    next = HiddenField()


class RegisterForm(FlaskForm):
    full_name = StringField(_l("Your full name"), validators=[
        DataRequired(_l("Enter your name.")), Length(max=120)])
    email = EmailField(_l("Email"), validators=[
        DataRequired(_l("Enter your email.")),
        Email(_l("Enter an email address like name@example.com."), check_deliverability=False),
        Length(max=254)])
    phone = TelField(_l("Mobile number (optional)"), validators=[Optional(), Length(max=30)],
                     description=_l("For booking updates by SMS. 10 digits, e.g. 98765 43210."))
    password = PasswordField(_l("Password"), validators=[
        DataRequired(_l("Choose a password.")), PASSWORD_RULE],
        description=_l("At least 8 characters."))
    confirm = PasswordField(_l("Password again"), validators=[
        DataRequired(_l("Type the password again.")),
        EqualTo("password", _l("The two passwords differ."))])
    next = HiddenField()


class PhoneForm(FlaskForm):
    phone = TelField(_l("Mobile number"), validators=[
        DataRequired(_l("Enter your mobile number.")), Length(max=30)],
        description=_l("We send a 6-digit code by SMS."))
    next = HiddenField()


class PhoneCodeForm(FlaskForm):
    phone = HiddenField(validators=[DataRequired(), Length(max=30)])
    otp = StringField(_l("6-digit code"), validators=[
        DataRequired(_l("Enter the code from the SMS.")),
        Regexp(r"^\s*\d{6}\s*$", message=_l("The code has 6 digits."))])
    next = HiddenField()


class ResetPasswordForm(FlaskForm):
    token = HiddenField(validators=[DataRequired(), Length(max=1000)])
    password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Choose a new password.")), PASSWORD_RULE],
        description=_l("At least 8 characters."))
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Type the new password again.")),
        EqualTo("password", _l("The two passwords differ."))])


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email.")),
                                                Length(max=254)])
