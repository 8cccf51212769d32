"""Forms of the booking flow. Choices depend on the event and the children, so some forms are
built per request (``slots_form``, ``addons_form``); all of them check shapes only."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from nibog.core.timeutil import today_ist

PHONE_RULE = Regexp(r"^\+?[0-9 \-]{8,20}$", message=_l("Enter a mobile number, e.g. 98765 43210."))
GENDERS = [("", _l("Prefer not to say")), ("female", _l("Girl")), ("male", _l("Boy")),
           ("other", _l("Other"))]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class GuestForm(FlaskForm):
    full_name = StringField(_l("Your full name"), validators=[
        DataRequired(_l("Enter your name.")), Length(max=120)])
    email = EmailField(_l("Email"), validators=[
        DataRequired(_l("Enter your email.")),
        Email(_l("Enter an email address like name@example.com."), check_deliverability=False),
        Length(max=254)], description=_l("Your ticket and booking number are sent here."))
    phone = TelField(_l("Mobile number"), validators=[
        DataRequired(_l("Enter your mobile number.")), PHONE_RULE])


class ChildForm(FlaskForm):
    full_name = StringField(_l("Child's full name"), validators=[
        DataRequired(_l("Enter the child's name.")), Length(max=120)],
        description=_l("As it should appear on the certificate."))
    date_of_birth = DateField(_l("Date of birth"), validators=[
        InputRequired(_l("Enter the date of birth."))])
    gender = SelectField(_l("Gender"), choices=GENDERS, validators=[Optional()])

    def validate_date_of_birth(self, field):
        if field.data and field.data > today_ist():
            raise ValidationError(_l("The date of birth cannot be in the future."))


class ChooseChildrenForm(FlaskForm):
    children = MultiCheckboxField(_l("Who is playing?"), validators=[
        DataRequired(_l("Choose at least one child."))])


class GamesForm(FlaskForm):
    games = MultiCheckboxField(_l("Games"), validators=[
        DataRequired(_l("Choose at least one game."))])


def slots_form(groups: list[tuple[str, str, list[tuple[int, str]]]], data: dict | None = None):
    """One radio group per (child, game): ``groups`` = [(field name, legend, choices)]."""

    class SlotsForm(FlaskForm):
        pass

    for name, legend, choices in groups:
        setattr(SlotsForm, name, RadioField(
            legend, choices=choices, coerce=int,
            validators=[InputRequired(_l("Choose a time slot."))]))
    return SlotsForm(data=data or {}) if data is not None else SlotsForm()


def addons_form(addons: list[dict], data: dict | None = None):
    """Per add-on: a variant (when it has some) and a quantity (0 = not wanted)."""

    class AddonsForm(FlaskForm):
        pass

    for addon in addons:
        if addon["variants"]:
            choices = [(v["id"], v["name"] + (f" ({_l('sold out')})" if v["stock_left"] == 0 else ""))
                       for v in addon["variants"]]
            setattr(AddonsForm, f"variant_{addon['id']}", SelectField(
                _l("Size or option"), choices=choices, coerce=int, validators=[Optional()]))
        setattr(AddonsForm, f"qty_{addon['id']}", IntegerField(
            _l("Quantity"), default=0,
            validators=[Optional(), NumberRange(0, 20, _l("Between 0 and 20."))]))
    return AddonsForm(data=data) if data is not None else AddonsForm()


class PromoForm(FlaskForm):
    code = StringField(_l("Promo code"), validators=[
        DataRequired(_l("Enter a promo code.")), Length(max=40)])


class ConfirmForm(FlaskForm):
    """Only the CSRF token: the basket is the session's."""


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Why are you cancelling? (optional)"),
                           validators=[Optional(), Length(max=1000)])


class WaitlistForm(FlaskForm):
    child_id = RadioField(_l("Which child?"), coerce=int,
                          validators=[InputRequired(_l("Choose a child."))])


class LookupForm(FlaskForm):
    booking_number = StringField(_l("Booking number"), validators=[
        DataRequired(_l("Enter the booking number.")), Length(max=20)],
        description=_l("In your confirmation e-mail, e.g. NIB-26-AB12CD."))
    contact = StringField(_l("Email or mobile number used for the booking"), validators=[
        DataRequired(_l("Enter the email or mobile number.")), Length(max=254)])
    access_code = StringField(_l("Access code"), validators=[
        DataRequired(_l("Enter the access code.")), Length(max=20)],
        description=_l("The 10-character code shown on the page after you booked."))
    next_step = HiddenField()
