"""Forms of the sales pages: manual booking, move, cancel, resend ticket."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import Email, InputRequired, Length, Optional

from nibog.admin.views.formkit import choices
from nibog.admin.views.forms import RupeesField


class CheckboxesField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


CHANNEL_CHOICES = [("email", _l("E-mail")), ("sms", _l("SMS"))]


class ManualBookingForm(FlaskForm):
    event_id = HiddenField()
    user_id = HiddenField()
    child = RadioField(_l("Child"), choices=[], validate_choice=False)
    child_name = StringField(_l("Child's name"), validators=[Optional(), Length(max=120)])
    child_dob = DateField(_l("Child's date of birth"), validators=[Optional()])
    child_gender = SelectField(
        _l("Gender"),
        choices=choices([("", _l("Not given")), ("female", _l("Girl")), ("male", _l("Boy")),
                 ("other", _l("Other"))]),
        validators=[Optional()],
    )
    guest_name = StringField(_l("Parent's name"), validators=[Optional(), Length(max=120)])
    guest_email = EmailField(_l("Parent's e-mail"), validators=[Optional(), Email(), Length(max=254)])
    guest_phone = StringField(_l("Parent's phone"), validators=[Optional(), Length(max=20)])
    slot_ids = CheckboxesField(_l("Games and slots"), coerce=int, choices=[], validate_choice=False)
    payment = RadioField(
        _l("Payment"),
        choices=choices([("cash", _l("Cash, taken now")), ("link", _l("Send a payment link"))]),
        default="cash",
        validators=[InputRequired()],
    )
    send_by = CheckboxesField(_l("Send the link by"), choices=choices(CHANNEL_CHOICES), default=["email"])
    promo_code = StringField(_l("Promo code"), validators=[Optional(), Length(max=40)])

    def validate_for(self, *, has_account: bool) -> bool:
        """WTForms' checks, then the ones that depend on which parent was found."""
        ok = self.validate()
        if not self.slot_ids.data:
            self.slot_ids.errors = [*self.slot_ids.errors, str(_l("Choose at least one game slot"))]
            ok = False
        new_child = not has_account or self.child.data in (None, "", "new")
        if new_child:
            if not (self.child_name.data or "").strip():
                self.child_name.errors = [*self.child_name.errors, str(_l("Enter the child's name"))]
                ok = False
            if self.child_dob.data is None and not self.child_dob.errors:
                self.child_dob.errors = [*self.child_dob.errors,
                                         str(_l("Enter the child's date of birth"))]
                ok = False
        if not has_account:
            if not (self.guest_name.data or "").strip():
                self.guest_name.errors = [*self.guest_name.errors, str(_l("Enter the parent's name"))]
                ok = False
            if not (self.guest_email.data or "").strip() and not self.guest_email.errors:
                self.guest_email.errors = [*self.guest_email.errors,
                                           str(_l("Enter the parent's e-mail"))]
                ok = False
        return ok


class MoveForm(FlaskForm):
    item_id = HiddenField(validators=[InputRequired()])
    slot_id = SelectField(_l("Move to"), coerce=int, choices=[], validate_choice=False,
                          validators=[InputRequired(message=_l("Choose a slot"))])


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[
        InputRequired(message=_l("Say why the booking is cancelled")), Length(max=500)])
    refund = RadioField(_l("Refund"), choices=choices([("policy", _l("As the policy says")),
                                               ("override", _l("Another amount"))]),
                        default="policy", validators=[InputRequired()])
    amount = RupeesField(_l("Amount to refund (₹)"))


class ResendForm(FlaskForm):
    channels = CheckboxesField(_l("Send by"), choices=choices(CHANNEL_CHOICES), default=["email"])
