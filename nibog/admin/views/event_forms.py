"""The event editor's forms: basics, a game with its slot rows, an add-on with its variant
rows, gallery images, FAQs and cloning. Each turns itself into the catalog service's input
(``event_admin``'s incremental edit entries) and reads an existing row back."""

from __future__ import annotations

from datetime import time

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, ValidationError

from nibog.admin.views.forms import ISTDateTimeField, Page, RupeesField
from nibog.catalog.models import AddOn, Event, EventFaq, EventGame, GameSlot

BLANK_SLOT_ROWS = 2
BLANK_VARIANT_ROWS = 2


def _id(raw) -> int | None:
    return int(raw) if raw and str(raw).isdigit() else None


class EventForm(Page):
    title = StringField(_l("Title"), [DataRequired(), Length(max=200)])
    venue_id = SelectField(_l("Venue"), coerce=int, validators=[DataRequired()])
    event_date = DateField(_l("Date"), [DataRequired()])
    start_time = TimeField(_l("Starts at"), [DataRequired()], default=time(9, 0))
    end_time = TimeField(_l("Ends at"), [DataRequired()], default=time(17, 0))
    registration_opens_at = ISTDateTimeField(_l("Registration opens (India time)"),
                                             description=_l("Empty: open as soon as published"))
    registration_closes_at = ISTDateTimeField(_l("Registration closes (India time)"),
                                              description=_l("Empty: until the event starts"))
    certificate_template = SelectField(_l("Certificate design"))
    image_url = StringField(_l("Image URL"), [Optional(), URL(), Length(max=500)])
    is_featured = BooleanField(_l("Featured on the home page"))
    description = TextAreaField(_l("Description"))

    def __init__(self, *args, venues: list[tuple[int, str, int]], templates: list[dict],
                 **kwargs):
        super().__init__(*args, **kwargs)
        self._city_of = {venue_id: city_id for venue_id, _label, city_id in venues}
        self.venue_id.choices = [(0, _("Choose a venue"))] + [(v, label) for v, label, _c in venues]
        self.certificate_template.choices = [(t["name"], t["label"]) for t in templates]

    def validate_end_time(self, field):
        if field.data and self.start_time.data and field.data <= self.start_time.data:
            raise ValidationError(_("Must be after the start time."))

    def validate_registration_closes_at(self, field):
        opens = self.registration_opens_at.data
        if field.data and opens and field.data <= opens:
            raise ValidationError(_("Must be after registration opens."))

    def fill(self, event: Event) -> None:
        self.registration_opens_at.set_utc(event.registration_opens_at)
        self.registration_closes_at.set_utc(event.registration_closes_at)

    def data_for_service(self) -> dict:
        return {
            "title": self.title.data.strip(), "venue_id": self.venue_id.data,
            "city_id": self._city_of.get(self.venue_id.data, 0),
            "event_date": self.event_date.data, "start_time": self.start_time.data,
            "end_time": self.end_time.data, "description": self.description.data or "",
            "image_url": self.image_url.data or None, "is_featured": self.is_featured.data,
            "registration_opens_at": self.registration_opens_at.utc,
            "registration_closes_at": self.registration_closes_at.utc,
            "certificate_template": self.certificate_template.data,
        }


# -- a game and its slots ---------------------------------------------------------------------


class SlotRow(Form):
    id = HiddenField()
    start_time = TimeField(_l("From"), [Optional()])
    end_time = TimeField(_l("To"), [Optional()])
    capacity = IntegerField(_l("Seats"), [Optional(), NumberRange(min=0, max=100000)])
    price = RupeesField(_l("Price (₹)"))
    is_open = BooleanField(_l("Open"), default=True)
    remove = BooleanField(_l("Remove"))

    def is_blank(self) -> bool:
        return not _id(self.id.data) and not any(
            (self.start_time.data, self.end_time.data, self.capacity.data is not None,
             self.price.data is not None))


class GameForm(Page):
    price = RupeesField(_l("Price for this event (₹)"),
                        description=_l("Empty: the game's default price"))
    min_age_months = IntegerField(_l("Youngest (months)"), [Optional(), NumberRange(0, 240)],
                                  description=_l("Empty: the game's own"))
    max_age_months = IntegerField(_l("Oldest (months)"), [Optional(), NumberRange(0, 240)])
    sort_order = IntegerField(_l("Order on the page"), [Optional()], default=0)
    slots = FieldList(FormField(SlotRow), min_entries=BLANK_SLOT_ROWS)

    def validate_max_age_months(self, field):
        low = self.min_age_months.data
        if field.data is not None and low is not None and field.data < low:
            raise ValidationError(_("Must not be below the youngest age."))

    def fill(self, game: EventGame) -> None:
        self.price.set_paise(game.price)
        while len(self.slots):
            self.slots.pop_entry()
        for slot in game.slots:
            self.slots.append_entry()
            entry = self.slots[-1]
            row = entry.form
            row.id.data, row.start_time.data, row.end_time.data = slot.id, slot.start_time, \
                slot.end_time
            row.capacity.data, row.is_open.data = slot.capacity, slot.is_open
            row.price.set_paise(slot.price)
            entry.booked = slot.booked_count
        for _i in range(BLANK_SLOT_ROWS):
            self.slots.append_entry()

    def slot_entries(self, known: dict[int, GameSlot] | None = None) -> list[dict] | None:
        """The slot rows as the service's edit entries; None (with errors on the rows) when a
        row is incomplete. Blank rows are the spare ones: skipped."""
        entries, ok = [], True
        for entry in self.slots:
            row: SlotRow = entry.form
            slot_id = _id(row.id.data)
            if slot_id is not None and known is not None and slot_id not in known:
                row.id.errors = [_("This slot is not part of the game.")]
                ok = False
                continue
            if row.is_blank():
                continue
            if slot_id is not None and row.remove.data:
                entries.append({"id": slot_id, "delete": True})
                continue
            if slot_id is None and row.remove.data:
                continue
            for field in (row.start_time, row.end_time, row.capacity):
                if field.data is None:
                    field.errors = list(field.errors) + [_("Required for a slot.")]
                    ok = False
            if row.start_time.data and row.end_time.data and \
                    row.end_time.data <= row.start_time.data:
                row.end_time.errors = list(row.end_time.errors) + [_("Must be after the start.")]
                ok = False
            item = {"start_time": row.start_time.data, "end_time": row.end_time.data,
                    "capacity": row.capacity.data, "price": row.price.paise,
                    "is_open": row.is_open.data}
            if slot_id is not None:
                item["id"] = slot_id
            entries.append(item)
        return entries if ok else None

    def game_fields(self) -> dict:
        return {"price": self.price.paise, "min_age_months": self.min_age_months.data,
                "max_age_months": self.max_age_months.data,
                "sort_order": self.sort_order.data or 0}


class NewGameForm(GameForm):
    game_template_id = SelectField(_l("Game"), coerce=int, validators=[DataRequired()])

    def __init__(self, *args, templates: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.game_template_id.choices = [(0, _("Choose a game"))] + templates

    def field_order(self):
        return ["game_template_id", "price", "min_age_months", "max_age_months", "sort_order"]


# -- an add-on and its variants ---------------------------------------------------------------


class VariantRow(Form):
    id = HiddenField()
    name = StringField(_l("Variant"), [Optional(), Length(max=80)])
    price = RupeesField(_l("Price (₹)"))
    stock = IntegerField(_l("Stock"), [Optional(), NumberRange(min=0)])
    is_active = BooleanField(_l("Active"), default=True)
    remove = BooleanField(_l("Remove"))


class AddOnForm(Page):
    name = StringField(_l("Name"), [DataRequired(), Length(max=120)])
    price = RupeesField(_l("Price (₹)"), [DataRequired()])
    sort_order = IntegerField(_l("Order on the page"), [Optional()], default=0)
    is_active = BooleanField(_l("On sale"), default=True)
    description = TextAreaField(_l("Description"))
    variants = FieldList(FormField(VariantRow), min_entries=BLANK_VARIANT_ROWS)

    def fill(self, addon: AddOn) -> None:
        self.price.set_paise(addon.price)
        while len(self.variants):
            self.variants.pop_entry()
        for v in addon.variants:
            self.variants.append_entry()
            entry = self.variants[-1]
            row = entry.form
            row.id.data, row.name.data, row.stock.data, row.is_active.data = \
                v.id, v.name, v.stock, v.is_active
            row.price.set_paise(v.price)
            entry.sold = v.sold_count
        for _i in range(BLANK_VARIANT_ROWS):
            self.variants.append_entry()

    def entry(self, addon_id: int | None = None) -> dict | None:
        variants, ok = [], True
        for item in self.variants:
            row: VariantRow = item.form
            variant_id = _id(row.id.data)
            name = (row.name.data or "").strip()
            if variant_id is None and not name and row.price.data is None and \
                    row.stock.data is None:
                continue
            if variant_id is not None and row.remove.data:
                variants.append({"id": variant_id, "delete": True})
                continue
            if variant_id is None and row.remove.data:
                continue
            if not name:
                row.name.errors = list(row.name.errors) + [_("A variant needs a name.")]
                ok = False
                continue
            v = {"name": name, "price": row.price.paise, "stock": row.stock.data,
                 "is_active": row.is_active.data}
            if variant_id is not None:
                v["id"] = variant_id
            variants.append(v)
        if not ok:
            return None
        data = {"name": self.name.data.strip(), "price": self.price.paise,
                "description": self.description.data or "", "is_active": self.is_active.data,
                "sort_order": self.sort_order.data or 0, "variants": variants}
        if addon_id is not None:
            data["id"] = addon_id
        return data


# -- gallery, FAQs, clone ---------------------------------------------------------------------


class GalleryForm(Page):
    image_url = StringField(_l("Image URL"), [DataRequired(), URL(), Length(max=500)])
    caption = StringField(_l("Caption"), [Optional(), Length(max=300)])
    sort_order = IntegerField(_l("Order"), [Optional()], default=0)

    def data_for_service(self) -> dict:
        return {"image_url": self.image_url.data.strip(), "caption": self.caption.data or "",
                "sort_order": self.sort_order.data or 0}


class FaqForm(Page):
    question = StringField(_l("Question"), [DataRequired(), Length(max=500)])
    answer = TextAreaField(_l("Answer"), [DataRequired()])
    sort_order = IntegerField(_l("Order"), [Optional()], default=0)

    def data_for_service(self) -> dict:
        return {"question": self.question.data.strip(), "answer": self.answer.data.strip(),
                "sort_order": self.sort_order.data or 0}

    @classmethod
    def for_faq(cls, faq: EventFaq, **kwargs) -> FaqForm:
        return cls(obj=faq, prefix=f"faq{faq.id}", **kwargs)


class CloneForm(Page):
    event_date = DateField(_l("New date"), [DataRequired()])
    title = StringField(_l("New title"), [Optional(), Length(max=200)],
                        description=_l("Empty: the same title"))


class StatusForm(Page):
    status = HiddenField(validators=[DataRequired()])
