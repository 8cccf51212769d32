"""Sales: the bookings list and search, a booking's page, and the desk's actions on it
(manual booking, move a child, cancel with a refund, resend the ticket, mark paid in cash).

Staff may do all of these (bookings are their work) except choosing a refund other than the
policy's, which is a money decision for an admin.
"""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from nibog.accounts.children import children_query
from nibog.accounts.models import User
from nibog.accounts.service import find_by_email, find_by_phone
from nibog.admin.views import bp
from nibog.admin.views.access import ADMIN, OPERATE, READ, actor, allow, can
from nibog.admin.views.formkit import apply_error, choices, refusal
from nibog.admin.views.labels import status_label
from nibog.admin.views.listing import arg, int_arg, list_args, ordered
from nibog.admin.views.sales_forms import CancelForm, ManualBookingForm, MoveForm, ResendForm
from nibog.auth.otp import normalise_phone
from nibog.booking.admin import actions as admin_actions
from nibog.booking.admin import detail as admin_detail
from nibog.booking.admin.queries import BOOKING_SORTS, booking_rows, page_of_rows
from nibog.booking.models import BOOKING_SOURCES, BOOKING_STATUSES, Booking
from nibog.catalog.models import Event, EventGame, GameSlot, GameTemplate
from nibog.core.audit import record, snapshot
from nibog.core.errors import AppError
from nibog.core.i18n import money
from nibog.core.timeutil import today_ist
from nibog.extensions import db

SOURCE_LABELS = {
    "app": _l("App"), "web": _l("Website"), "admin": _l("Desk or phone"), "guest": _l("Guest"),
    "partner": _l("Partner"), "waitlist": _l("Waiting list"),
}


def date_arg(name: str) -> date | None:
    value = arg(name)
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def event_choices(upcoming_only: bool = False, limit: int = 300) -> list[tuple[int, str]]:
    """Events for a select: the most recent and coming ones first."""
    stmt = select(Event.id, Event.title, Event.event_date)
    if upcoming_only:
        stmt = stmt.where(Event.status == "published", Event.event_date >= today_ist()) \
            .order_by(Event.event_date, Event.id)
    else:
        stmt = stmt.order_by(Event.event_date.desc(), Event.id.desc())
    return [(i, f"{title} · {day.isoformat()}") for i, title, day in db.session.execute(stmt.limit(limit))]


# ---------------------------------------------------------------- list


@bp.get("/bookings")
@allow(READ)
def bookings():
    filters = {
        "q": arg("q"),
        "status": arg("status") if arg("status") in BOOKING_STATUSES else None,
        "source": arg("source") if arg("source") in BOOKING_SOURCES else None,
        "event_id": int_arg("event_id"),
        "user_id": int_arg("user_id"),
        "date_on": "booked" if arg("date_on") == "booked" else "event",
        "date_from": date_arg("date_from"),
        "date_to": date_arg("date_to"),
    }
    args = list_args(BOOKING_SORTS, "created", "desc")
    stmt = ordered(booking_rows(filters), BOOKING_SORTS, args, tiebreak=Booking.id.desc())
    page = page_of_rows(stmt, args.page, args.per_page)
    page["sort"], page["dir"] = args.sort, args.direction
    return render_template(
        "admin/sales/bookings.html", page=page, filters=filters, events=event_choices(),
        statuses=[(s, status_label(s)) for s in BOOKING_STATUSES],
        sources=[(s, str(SOURCE_LABELS.get(s, s))) for s in BOOKING_SOURCES],
    )


# ---------------------------------------------------------------- one booking


def _detail_page(booking_id: int, *, status: int = 200, errors: list[str] | None = None,
                 move_form: MoveForm | None = None, cancel_form: CancelForm | None = None,
                 resend_form: ResendForm | None = None):
    detail = admin_detail.booking_detail(booking_id)
    moves = admin_detail.move_choices(detail)
    refund = (admin_actions.refund_options(booking_id)
              if detail.booking.status in ("pending_payment", "confirmed") else None)
    cancel_form = cancel_form or CancelForm(formdata=None)
    resend_form = resend_form or ResendForm(formdata=None)
    return render_template(
        "admin/sales/booking.html", d=detail, move_choices=moves, refund=refund,
        move_form=move_form, cancel_form=cancel_form, resend_form=resend_form,
        errors=errors or [], can_override=can(ADMIN),
    ), status


@bp.get("/bookings/<int:booking_id>")
@allow(READ)
def booking_detail(booking_id: int):
    return _detail_page(booking_id)


def _back(booking_id: int):
    return redirect(url_for("admin_web.booking_detail", booking_id=booking_id))


@bp.post("/bookings/<int:booking_id>/move")
@allow(OPERATE)
def booking_move(booking_id: int):
    form = MoveForm()
    if not form.validate() or not (form.item_id.data or "").isdigit():
        return _detail_page(booking_id, status=422, move_form=form)
    try:
        admin_actions.move_child(booking_id, int(form.item_id.data), form.slot_id.data,
                                 actor_id=actor().id, client_ip=actor().ip)
    except AppError as exc:
        form.slot_id.errors = [*form.slot_id.errors, refusal(exc)]
        return _detail_page(booking_id, status=exc.status, move_form=form)
    flash(_("The child was moved to the new slot."), "success")
    return _back(booking_id)


@bp.post("/bookings/<int:booking_id>/cancel")
@allow(OPERATE)
def booking_cancel(booking_id: int):
    form = CancelForm()
    if not form.validate():
        return _detail_page(booking_id, status=422, cancel_form=form)
    if form.refund.data == "override" and not can(ADMIN):
        form.refund.errors = [_("Only an administrator may refund another amount than the "
                                "policy's.")]
        return _detail_page(booking_id, status=403, cancel_form=form)
    if form.refund.data == "override" and form.amount.paise is None:
        form.amount.errors = [_("Enter the amount to refund")]
        return _detail_page(booking_id, status=422, cancel_form=form)
    try:
        booking, refunded = admin_actions.cancel_with_refund(
            booking_id, actor_id=actor().id, client_ip=actor().ip, reason=form.reason.data,
            refund=form.refund.data, amount=form.amount.paise,
        )
    except AppError as exc:
        errors = apply_error(form, exc)
        return _detail_page(booking_id, status=exc.status, cancel_form=form, errors=errors)

    if refunded and booking.payment_mode == "cash":
        flash(_("Booking cancelled. Hand back %(amount)s in cash.", amount=money(refunded)),
              "success")
    elif refunded:
        flash(_("Booking cancelled. %(amount)s is being refunded.", amount=money(refunded)),
              "success")
    else:
        flash(_("Booking cancelled. Nothing is refunded."), "success")
    return _back(booking_id)


@bp.post("/bookings/<int:booking_id>/resend-ticket")
@allow(OPERATE)
def booking_resend(booking_id: int):
    form = ResendForm()
    if not form.validate():
        return _detail_page(booking_id, status=422, resend_form=form)
    try:
        admin_actions.resend_ticket(booking_id, actor_id=actor().id, client_ip=actor().ip,
                                    channels=form.channels.data or [])
    except AppError as exc:
        errors = apply_error(form, exc)
        return _detail_page(booking_id, status=exc.status, resend_form=form, errors=errors)
    flash(_("The ticket is on its way."), "success")
    return _back(booking_id)


@bp.post("/bookings/<int:booking_id>/mark-paid")
@allow(OPERATE)
def booking_mark_paid(booking_id: int):
    booking = db.session.get(Booking, booking_id)
    if booking is None:
        abort(404)
    before = snapshot(booking)
    try:
        admin_actions.confirm_offline(booking_id)
    except AppError as exc:
        return _detail_page(booking_id, status=exc.status, errors=[refusal(exc)])
    db.session.refresh(booking)
    record("booking.admin_confirm", booking, actor_id=actor().id, before=before,
           client_ip=actor().ip)
    flash(_("Booking marked paid."), "success")
    return _back(booking_id)


# ---------------------------------------------------------------- manual booking


def _find_parent(text: str | None):
    text = (text or "").strip()
    if not text:
        return None
    if "@" in text:
        return find_by_email(text)
    try:
        return find_by_phone(normalise_phone(text))
    except AppError:
        return None


def _slots_of(event_id: int) -> list[dict]:
    rows = db.session.execute(
        select(GameSlot, GameTemplate.name, EventGame.id)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
        .where(EventGame.event_id == event_id)
        .order_by(EventGame.sort_order, GameTemplate.name, GameSlot.start_time, GameSlot.id)
    ).all()
    return [{"slot": s, "game": name, "free": max(0, s.capacity - s.booked_count)}
            for s, name, _ in rows]


@bp.route("/bookings/new", methods=["GET", "POST"])
@allow(OPERATE)
def booking_new():
    event_id = int_arg("event_id") or (int(request.form["event_id"])
                                       if (request.form.get("event_id") or "").isdigit() else None)
    event = db.session.get(Event, event_id) if event_id else None
    lookup = arg("parent")
    parent = None
    if request.method == "POST" and (request.form.get("user_id") or "").isdigit():
        parent = db.session.get(User, int(request.form["user_id"]))
    elif lookup:
        parent = _find_parent(lookup)
    kids = list(db.session.scalars(children_query(parent))) if parent is not None else []
    form = ManualBookingForm()
    form.child.choices = choices([(str(k.id), k.full_name) for k in kids]
                                 + [("new", _("A new child"))])
    slots = _slots_of(event.id) if event is not None else []
    form.slot_ids.choices = choices([(s["slot"].id, s["game"]) for s in slots])
    if request.method == "GET":
        form.event_id.data = str(event.id) if event else ""
        form.user_id.data = str(parent.id) if parent else ""
        if kids:
            form.child.data = str(kids[0].id)
    errors: list[str] = []
    status = 200
    if request.method == "POST":
        if event is None:
            abort(404)
        if form.validate_for(has_account=parent is not None):
            try:
                booking, code = _book(form, event, parent)
            except AppError as exc:
                errors = apply_error(form, exc, {"guest": "guest_name", "phone": "guest_phone",
                                                 "date_of_birth": "child_dob",
                                                 "items": "slot_ids"})
                status = exc.status
            else:
                if code:
                    flash(_("Booking %(number)s made. Walk-in access code: %(code)s (give it to "
                            "the parent; it is shown only once).",
                            number=booking.booking_number, code=code), "success")
                else:
                    flash(_("Booking %(number)s made.", number=booking.booking_number), "success")
                return redirect(url_for("admin_web.booking_detail", booking_id=booking.id))
        else:
            status = 422
    return render_template(
        "admin/sales/new.html", form=form, event=event, events=event_choices(upcoming_only=True),
        lookup=lookup, parent=parent, kids=kids, slots=slots, errors=errors,
        today=today_ist(),
    ), status


def _book(form: ManualBookingForm, event: Event, parent):
    new_child = None
    if parent is None or form.child.data in (None, "", "new"):
        new_child = {"full_name": form.child_name.data.strip(),
                     "date_of_birth": form.child_dob.data,
                     "gender": form.child_gender.data or None}
    child_id = (int(form.child.data) if parent is not None and (form.child.data or "").isdigit()
                else None)
    guest = None
    if parent is None:
        guest = {"full_name": form.guest_name.data.strip(), "email": form.guest_email.data.strip(),
                 "phone": _phone_or_none(form.guest_phone.data)}
    return admin_actions.manual_booking(
        actor_id=actor().id, client_ip=actor().ip, event_id=event.id,
        slot_ids=form.slot_ids.data or [], payment=form.payment.data,
        user_id=parent.id if parent is not None else None, child_id=child_id,
        new_child=new_child, guest=guest, send_by=form.send_by.data or [],
        promo_code=(form.promo_code.data or "").strip() or None,
    )


def _phone_or_none(raw: str | None) -> str | None:
    raw = (raw or "").strip()
    return normalise_phone(raw, "phone") if raw else None


HISTORY_LABELS = {
    "created": _l("Made"),
    "confirmed": _l("Confirmed"),
    "cancelled": _l("Cancelled"),
    "expired": _l("Hold expired"),
    "completed": _l("Completed"),
    "payment": _l("Payment"),
    "audit:booking.admin_create": _l("Booked by staff"),
    "audit:booking.admin_confirm": _l("Marked paid by staff"),
    "audit:booking.admin_cancel": _l("Cancelled by staff"),
    "audit:booking.admin_complete": _l("Completed by staff"),
    "audit:booking.move_item": _l("Child moved to another slot"),
    "audit:booking.resend_ticket": _l("Ticket sent again"),
    "audit:booking.check_in": _l("Checked in"),
    "audit:booking_item.update": _l("Attendance or result recorded"),
}


@bp.app_template_global("history_label")
def history_label(what: str) -> str:
    label = HISTORY_LABELS.get(what)
    return str(label) if label is not None else what.removeprefix("audit:")


@bp.app_template_global("source_label")
def source_label(source: str) -> str:
    return str(SOURCE_LABELS.get(source, source))
