"""The event listing's filter form (GET, in the URL; no CSRF: it changes nothing)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, IntegerField, SelectField
from wtforms.validators import NumberRange, Optional, ValidationError


def _optional_int(value):
    return int(value) if value not in (None, "", "None") else None


class EventFilterForm(FlaskForm):
    class Meta:
        csrf = False

    city_id = SelectField(_l("City"), coerce=_optional_int, validate_choice=False)
    date_from = DateField(_l("From"), validators=[Optional()])
    date_to = DateField(_l("To"), validators=[Optional()])
    age_months = IntegerField(_l("Child's age (months)"), validators=[
        Optional(), NumberRange(0, 240, _l("Between 0 and 240 months."))])
    max_price = IntegerField(_l("Up to (₹)"), validators=[
        Optional(), NumberRange(0, 1_000_000, _l("Enter an amount in rupees."))])
    available = BooleanField(_l("Only with seats left"))

    def validate_date_to(self, field):
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def set_cities(self, cities: list[dict]) -> None:
        self.city_id.choices = [("", _l("All cities"))] + [(c["id"], c["name"]) for c in cities]
