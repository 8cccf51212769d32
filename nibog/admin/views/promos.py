"""Catalog: promo codes (list, create, edit, delete). The promo service checks uniqueness,
limits and scopes and writes the audit log."""

from __future__ import annotations

from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from nibog.admin import catalog_lists as lists
from nibog.admin.views import bp
from nibog.admin.views.access import ADMIN, READ, actor, allow
from nibog.admin.views.forms import (
    YES_NO,
    ISTDateTimeField,
    Page,
    RupeesField,
    attempt,
    deleted,
    yes_no,
)
from nibog.admin.views.listing import arg, list_args, page_of
from nibog.booking.models import PromoCode
from nibog.catalog import promo_admin
from nibog.catalog.admin_service import get_or_404
from nibog.catalog.models import Event
from nibog.core.timeutil import today_ist
from nibog.extensions import db


class PromoForm(Page):
    code = StringField(_l("Code"), [DataRequired(), Length(min=3, max=40),
                                    Regexp(r"^[A-Za-z0-9_-]+$",
                                           message=_l("Letters, digits, - and _ only."))],
                       description=_l("Parents type it at checkout; stored in capitals"))
    description = StringField(_l("Description"), [Optional(), Length(max=300)])
    kind = SelectField(_l("Discount"), choices=[SelectChoice("percent", _l("Percentage off")),
                                               SelectChoice("fixed", _l("Fixed amount off (₹)"))])
    value = DecimalField(_l("Value"), [DataRequired(), NumberRange(min=Decimal("0.01"))],
                         places=2, description=_l("Percent (1–100) or rupees, by the discount"))
    max_discount = RupeesField(_l("Largest discount (₹)"))
    min_total = RupeesField(_l("Smallest booking total (₹)"))
    max_uses = IntegerField(_l("Uses in total"), [Optional(), NumberRange(min=1)],
                            description=_l("Empty: no limit"))
    per_user_limit = IntegerField(_l("Uses per parent"), [Optional(), NumberRange(min=1)])
    valid_from = ISTDateTimeField(_l("Valid from (India time)"))
    valid_until = ISTDateTimeField(_l("Valid until (India time)"))
    event_ids = SelectMultipleField(_l("Only for these events"), coerce=int,
                                    description=_l("None chosen: every event"))
    game_template_ids = SelectMultipleField(_l("Only for these games"), coerce=int,
                                            description=_l("None chosen: every game"))
    is_active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        events = db.session.execute(
            select(Event.id, Event.title, Event.event_date)
            .where(Event.event_date >= today_ist(), Event.status.in_(("draft", "published")))
            .order_by(Event.event_date, Event.id)
        ).all()
        self.event_ids.choices = [(i, f"{t} ({d.isoformat()})") for i, t, d in events]
        self.game_template_ids.choices = [
            (i, n) for i, n, _a in db.session.execute(lists.template_choices())]

    def validate_value(self, field):
        if self.kind.data == "percent" and field.data is not None:
            if field.data != field.data.to_integral_value() or field.data > 100:
                raise ValidationError(_("A percentage is a whole number from 1 to 100."))

    def validate_valid_until(self, field):
        if field.data and self.valid_from.data and field.data <= self.valid_from.data:
            raise ValidationError(_("Must be after the start."))

    def fill(self, promo: PromoCode, scopes: dict) -> None:
        self.value.data = Decimal(promo.value) if promo.kind == "percent" \
            else Decimal(promo.value) / 100
        self.max_discount.set_paise(promo.max_discount)
        self.min_total.set_paise(promo.min_total)
        self.valid_from.set_utc(promo.valid_from)
        self.valid_until.set_utc(promo.valid_until)
        known = {i for i, _label in self.event_ids.choices}
        # A code scoped to a past event keeps it (shown, so saving does not drop it).
        for event_id in scopes["event_ids"]:
            if event_id not in known:
                self.event_ids.choices.append((event_id, f"#{event_id}"))
        self.event_ids.data = scopes["event_ids"]
        self.game_template_ids.data = scopes["game_template_ids"]

    def data_for_service(self) -> dict:
        value = int(self.value.data) if self.kind.data == "percent" \
            else int(self.value.data * 100)
        return {
            "code": self.code.data, "description": self.description.data or "",
            "kind": self.kind.data, "value": value, "max_discount": self.max_discount.paise,
            "min_total": self.min_total.paise, "max_uses": self.max_uses.data,
            "per_user_limit": self.per_user_limit.data, "valid_from": self.valid_from.utc,
            "valid_until": self.valid_until.utc, "is_active": self.is_active.data,
            "event_ids": list(self.event_ids.data or []),
            "game_template_ids": list(self.game_template_ids.data or []),
        }


@bp.get("/promo-codes")
@allow(READ)
def promo_codes():
    stmt, sorts = lists.promos(arg("q"), yes_no(arg("active")))
    page = page_of(stmt, sorts, list_args(sorts, "created", "desc"), tiebreak=PromoCode.id.desc())
    return render_template("admin/promo_codes.html", page=page, yes_no=YES_NO)


def _page(form, heading, status=200, promo=None):
    extra = {}
    if promo is not None:
        extra = {"delete_url": url_for("admin_web.promo_code_delete", promo_id=promo.id),
                 "delete_confirm": _("Delete the code %(code)s?", code=promo.code)}
    return render_template(
        "admin/form_page.html", form=form, heading=heading,
        back=(url_for("admin_web.promo_codes"), _("Promo codes")),
        readonly=current_user.role != "admin", wide=["description"], **extra,
    ), status


@bp.route("/promo-codes/new", methods=["GET", "POST"])
@allow(ADMIN)
def promo_code_new():
    form = PromoForm()
    if form.validate_on_submit():
        promo, refused = attempt(promo_admin.create_promo, form.data_for_service(), actor())
        if refused is None:
            flash(_("Promo code %(code)s created.", code=promo.code), "success")
            return redirect(url_for("admin_web.promo_codes"))
        form.refuse(refused)
    return _page(form, _("New promo code"), 422 if request.method == "POST" else 200)


@bp.get("/promo-codes/<int:promo_id>")
@allow(READ)
def promo_code(promo_id: int):
    promo = get_or_404(PromoCode, promo_id, "Promo code")
    form = PromoForm(obj=promo)
    form.fill(promo, promo_admin.promo_dict(promo))
    return _page(form, _("Promo code %(code)s (used %(n)s times)", code=promo.code,
                         n=promo.used_count), promo=promo)


@bp.post("/promo-codes/<int:promo_id>")
@allow(ADMIN)
def promo_code_save(promo_id: int):
    promo = get_or_404(PromoCode, promo_id, "Promo code")
    form = PromoForm()
    if form.validate_on_submit():
        refused = attempt(promo_admin.update_promo, promo_id, form.data_for_service(),
                          actor())[1]
        if refused is None:
            flash(_("Promo code saved."), "success")
            return redirect(url_for("admin_web.promo_codes"))
        form.refuse(refused)
        promo = get_or_404(PromoCode, promo_id, "Promo code")
    return _page(form, _("Promo code %(code)s", code=promo.code), 422, promo)


@bp.post("/promo-codes/<int:promo_id>/delete")
@allow(ADMIN)
def promo_code_delete(promo_id: int):
    return deleted(promo_admin.delete_promo, promo_id, actor(),
                   done=url_for("admin_web.promo_codes"),
                   refused_to=url_for("admin_web.promo_code", promo_id=promo_id),
                   message=_("Promo code deleted."))
