"""Flask-WTF forms of a parent's account pages. Shapes only: the services decide the rules
(``nibog.accounts``, ``nibog.auth``, ``nibog.booking``) and their refusals are put back on the
form next to the field (``nibog.web.errors.attach``)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, Optional

from nibog.core.i18n import language_name
from nibog.web.forms import PASSWORD_RULE


class LocalDateField(DateField):
    """A date field whose "not a date" message is in the page's language (WTForms has no
    Hindi catalogue)."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(_l("Enter a date, e.g. 25/12/2023.")) from None


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class ProfileForm(FlaskForm):
    full_name = StringField(_l("Your full name"), validators=[
        DataRequired(_l("Enter your name.")), Length(max=120)])
    email = EmailField(_l("Email"), validators=[
        Optional(), Email(_l("Enter an email address like name@example.com."),
                          check_deliverability=False), Length(max=254)])
    phone = TelField(_l("Mobile number"), validators=[Optional(), Length(max=30)],
                     description=_l("For booking updates by SMS. 10 digits, e.g. 98765 43210."))
    city_id = SelectField(_l("Your city"), coerce=_optional_int, validate_choice=False,
                          description=_l("We show this city's events first."))
    language = RadioField(_l("Language of our e-mails and SMS"), validators=[
        InputRequired(_l("Choose a language."))])

    def set_choices(self, cities: list[dict], languages: list[str]) -> None:
        self.city_id.choices = [(None, _l("No city chosen"))] + [
            (c["id"], c["name"]) for c in cities]
        # Each language named in itself (Babel's CLDR names): no list of names to keep.
        self.language.choices = [(code, language_name(code)) for code in languages]


class ChildForm(FlaskForm):
    full_name = StringField(_l("Child's full name"), validators=[
        DataRequired(_l("Enter the child's name.")), Length(max=120)],
        description=_l("As it should appear on the certificate."))
    date_of_birth = LocalDateField(_l("Date of birth"), validators=[
        InputRequired(_l("Enter the date of birth."))],
        description=_l("Games are chosen by the child's age on the event day."))
    gender = SelectField(_l("Gender (optional)"), choices=[
        ("", _l("Prefer not to say")), ("female", _l("Girl")), ("male", _l("Boy")),
        ("other", _l("Other"))], validators=[Optional()])
    school_name = StringField(_l("School or playschool (optional)"),
                              validators=[Optional(), Length(max=200)])


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[
        DataRequired(_l("Enter your current password.")), Length(max=128)])
    new_password = PasswordField(_l("New password"), validators=[
        DataRequired(_l("Choose a new password.")), PASSWORD_RULE],
        description=_l("At least 8 characters."))
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(_l("Type the new password again.")),
        EqualTo("new_password", _l("The two passwords differ."))])


class DeleteAccountForm(FlaskForm):
    password = PasswordField(_l("Your password"), validators=[Optional(), Length(max=128)])
    understood = BooleanField(
        _l("I understand that my account, my children's details and my favourites are deleted "
           "and cannot be brought back."),
        validators=[DataRequired(_l("Tick the box to confirm."))])


class CancelBookingForm(FlaskForm):
    reason = TextAreaField(_l("Why are you cancelling? (optional)"),
                           validators=[Optional(), Length(max=1000)])
    # The refund the parent was shown: if it changed meanwhile (the deadline passed), the new
    # terms are shown again instead of cancelling on terms they did not see.
    expected_refund = IntegerField(validators=[InputRequired()])


class ReviewForm(FlaskForm):
    rating = RadioField(_l("Your rating"), coerce=int, choices=[
        (5, _l("5 - Excellent")), (4, _l("4 - Good")), (3, _l("3 - Average")),
        (2, _l("2 - Poor")), (1, _l("1 - Very poor"))],
        validators=[InputRequired(_l("Choose a rating."))])
    comment = TextAreaField(_l("Tell other parents about the day (optional)"),
                            validators=[Optional(), Length(max=2000)])


class BookingFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET filter in the address

    status = SelectField(_l("Show"), choices=[
        ("", _l("All bookings")), ("upcoming", _l("Upcoming")),
        ("completed", _l("Completed")), ("cancelled", _l("Cancelled")),
        ("expired", _l("Expired"))], validators=[Optional()])


class NextForm(FlaskForm):
    """A button-only form (remove, leave): the CSRF token and where to go back to."""

    next = HiddenField()
