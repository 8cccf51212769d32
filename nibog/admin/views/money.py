"""Money: the payments list, one payment with the gateway's history, full or partial refunds,
and the reconciliation flags (amount mismatch, late payment...) a person resolves.

Staff read all of it; every write here is an admin's (money).
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, TextAreaField
from wtforms.validators import InputRequired, Length

from nibog.admin.views import bp
from nibog.admin.views.access import ADMIN, READ, actor, allow
from nibog.admin.views.formkit import apply_error, choices
from nibog.admin.views.forms import RupeesField
from nibog.admin.views.labels import status_label
from nibog.admin.views.listing import arg, int_arg, list_args, ordered
from nibog.admin.views.sales import date_arg
from nibog.booking.admin.queries import page_of_rows
from nibog.core.errors import AppError
from nibog.core.i18n import money
from nibog.extensions import db
from nibog.payments import admin_queries as pq
from nibog.payments.models import FLAG_KINDS, PAYMENT_STATUSES, Payment, PaymentFlag

FLAG_LABELS = {
    "amount_mismatch": _l("Amount mismatch"),
    "late_payment": _l("Late payment"),
    "duplicate_capture": _l("Paid twice"),
    "refund_failed": _l("Refund failed"),
    "other": _l("Other"),
}
PROVIDERS = ("sandbox", "razorpay", "phonepe")


class RefundForm(FlaskForm):
    how_much = RadioField(_l("Refund"), choices=choices([("full", _l("Everything left")),
                                                 ("part", _l("Part of it"))]),
                          default="full", validators=[InputRequired()])
    amount = RupeesField(_l("Amount (₹)"))
    reason = TextAreaField(_l("Reason"), validators=[
        InputRequired(message=_l("Say why the money goes back")), Length(max=500)])


class ResolveForm(FlaskForm):
    resolution = TextAreaField(_l("What was done"), validators=[
        InputRequired(message=_l("Say what was done about it")), Length(max=2000)])


@bp.app_template_global("flag_label")
def flag_label(kind: str) -> str:
    return str(FLAG_LABELS.get(kind, kind))


@bp.get("/payments")
@allow(READ)
def payments():
    filters = {
        "q": arg("q"),
        "status": arg("status") if arg("status") in PAYMENT_STATUSES else None,
        "provider": arg("provider") if arg("provider") in PROVIDERS else None,
        "booking_id": int_arg("booking_id"),
        "date_from": date_arg("date_from"),
        "date_to": date_arg("date_to"),
        "flagged": arg("flagged") == "1",
    }
    args = list_args(pq.PAYMENT_SORTS, "created", "desc")
    stmt = ordered(pq.payment_rows(filters), pq.PAYMENT_SORTS, args, tiebreak=Payment.id.desc())
    page = page_of_rows(stmt, args.page, args.per_page)
    page["sort"], page["dir"] = args.sort, args.direction
    return render_template(
        "admin/money/payments.html", page=page, open_flags=pq.open_flag_count(),
        statuses=[(s, status_label(s)) for s in PAYMENT_STATUSES],
        providers=[(p, p.capitalize()) for p in PROVIDERS],
    )


def _detail_page(payment_id: int, *, status: int = 200, refund_form: RefundForm | None = None,
                 resolve_forms: dict | None = None, errors: list[str] | None = None):
    detail = pq.payment_detail(payment_id)
    return render_template(
        "admin/money/payment.html", d=detail,
        refund_form=refund_form or RefundForm(formdata=None),
        resolve_forms=resolve_forms or {}, errors=errors or [],
    ), status


@bp.get("/payments/<int:payment_id>")
@allow(READ)
def payment_detail(payment_id: int):
    return _detail_page(payment_id)


@bp.post("/payments/<int:payment_id>/refund")
@allow(ADMIN)
def payment_refund(payment_id: int):
    form = RefundForm()
    if not form.validate():
        return _detail_page(payment_id, status=422, refund_form=form)
    amount = None
    if form.how_much.data == "part":
        if form.amount.paise is None:
            form.amount.errors = [_("Enter the amount to refund")]
            return _detail_page(payment_id, status=422, refund_form=form)
        amount = form.amount.paise
    try:
        refund = pq.refund_by_staff(payment_id, amount, reason=form.reason.data,
                                    actor_id=actor().id, client_ip=actor().ip)
    except AppError as exc:
        errors = apply_error(form, exc)
        return _detail_page(payment_id, status=exc.status, refund_form=form, errors=errors)

    flash(_("Refund of %(amount)s asked of the gateway.", amount=money(refund.amount)), "success")
    return redirect(url_for("admin_web.payment_detail", payment_id=payment_id))


@bp.get("/payments/flags")
@allow(READ)
def payment_flags():
    filters = {
        "state": arg("state") if arg("state") in ("open", "resolved", "all") else "open",
        "kind": arg("kind") if arg("kind") in FLAG_KINDS else None,
    }
    args = list_args(pq.FLAG_SORTS, "created", "desc")
    stmt = ordered(pq.flag_rows(filters), pq.FLAG_SORTS, args, tiebreak=PaymentFlag.id.desc())
    page = page_of_rows(stmt, args.page, args.per_page)
    page["sort"], page["dir"] = args.sort, args.direction
    return render_template(
        "admin/money/flags.html", page=page, filters=filters,
        kinds=[(k, flag_label(k)) for k in FLAG_KINDS],
    )


@bp.post("/payments/flags/<int:flag_id>/resolve")
@allow(ADMIN)
def payment_flag_resolve(flag_id: int):
    row = db.session.get(PaymentFlag, flag_id)
    if row is None:
        return render_template("admin/error.html", status=404,
                               message=_("This record does not exist (any more).")), 404
    form = ResolveForm()
    if form.validate():
        try:
            pq.resolve_flag(flag_id, resolution=form.resolution.data, actor_id=actor().id,
                            client_ip=actor().ip)
        except AppError as exc:
            errors = apply_error(form, exc)
            return _detail_page(row.payment_id, status=exc.status,
                                resolve_forms={flag_id: form}, errors=errors)
        flash(_("Flag resolved."), "success")
        return redirect(url_for("admin_web.payment_detail", payment_id=row.payment_id))
    return _detail_page(row.payment_id, status=422, resolve_forms={flag_id: form})
