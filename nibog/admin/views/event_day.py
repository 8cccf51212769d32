"""Event day at the venue (/admin/events/<id>/day): participants per slot, check-in by the
ticket's QR code (phone camera) or the booking number, attendance and places, completing the
event and the certificates' progress.

Staff run the day (check-in, attendance, results); completing the event and re-sending
certificates are an admin's. The check-in form works as a plain form; with JavaScript the
camera scanner and the form post here asking for JSON and show the answer without a reload.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from nibog.admin import event_day as day_svc
from nibog.admin.views import bp
from nibog.admin.views.access import ADMIN, OPERATE, READ, actor, allow
from nibog.admin.views.forms import attempt
from nibog.catalog import event_admin, event_lifecycle
from nibog.checkin.service import ATTENDANCE_VALUES
from nibog.core.errors import AppError, ValidationFailed, error_response, wants_json
from nibog.core.i18n import clock, when
from nibog.core.timeutil import today_ist
from nibog.documents.tasks import generate_event_certificates


def _page(event_id: int, *, status: int = 200, slot_errors: dict | None = None,
          slot_values: dict | None = None, checkin_error: str | None = None):
    event = event_admin.load_for_edit(event_id)
    today = today_ist()
    return render_template(
        "admin/event_day.html", event=event, groups=day_svc.participants(event),
        progress=day_svc.progress(event), today=today,
        is_event_day=day_svc.is_event_day(event, today),
        can_complete=event.status == "published" and event.event_date <= today,
        attendance=[(v, {"unknown": _("Not yet"), "attended": _("Present"),
                         "no_show": _("Absent")}[v]) for v in ATTENDANCE_VALUES],
        slot_errors=slot_errors or {}, slot_values=slot_values or {},
        checkin_error=checkin_error,
    ), status


@bp.get("/events/<int:event_id>/day")
@allow(READ)
def event_day(event_id: int):
    return _page(event_id)


@bp.get("/events/<int:event_id>/day/progress")
@allow(READ)
def event_day_progress(event_id: int):
    return jsonify(day_svc.progress(event_admin.load_for_edit(event_id)))


def _admitted_message(result) -> str:
    people = day_svc.describe_items(result.checked_in_item_ids)
    names = ", ".join(f"{p['child']} ({p['game']}, {clock(p['start_time'])})" for p in people)
    return _("Checked in %(number)s: %(names)s", number=result.booking.booking_number,
             names=names)


def _refusal_message(exc: AppError) -> str:
    if exc.code == "already_checked_in":
        at = exc.details.get("checked_in_at")
        from datetime import datetime

        moment = when(datetime.fromisoformat(at)) if at else ""
        return _("Already checked in (%(number)s) at %(when)s. Do not admit twice.",
                 number=exc.details.get("booking_number", ""), when=moment)
    if exc.code == "not_found":
        return _("No booking with that number.")
    return exc.message


@bp.post("/events/<int:event_id>/day/check-in")
@allow(OPERATE)
def event_day_check_in(event_id: int):
    event_admin.load_for_edit(event_id)
    form = request.form
    item_id = form.get("item_id", type=int)
    number = (form.get("booking_number") or "").strip()
    qr = (form.get("qr_payload") or "").strip() or None
    if item_id and not number and not qr:
        number, refused = attempt(day_svc.booking_number_of_item, event_id, item_id)
        if refused is not None:
            return _checkin_refused(event_id, refused)
    if not number and not qr:
        return _checkin_refused(event_id, ValidationFailed(
            {"booking_number": [_("Type the booking number or scan the ticket.")]},
            _("Type the booking number or scan the ticket.")))
    result, refused = attempt(day_svc.check_in_at, event_id, actor(), booking_number=number,
                              qr_payload=qr, item_id=item_id, force=bool(form.get("force")))
    if refused is not None:
        return _checkin_refused(event_id, refused)
    message = _admitted_message(result)
    if wants_json():
        return jsonify({"ok": True, "message": message,
                        "booking_number": result.booking.booking_number,
                        "item_ids": result.checked_in_item_ids})
    flash(message, "success")
    return redirect(url_for("admin_web.event_day", event_id=event_id) + "#check-in")


def _checkin_refused(event_id: int, exc: AppError):
    if exc.status == 404 and exc.code == "not_found" and "Event" in exc.message:
        raise exc
    message = _refusal_message(exc)
    status = exc.status if exc.status >= 400 else 422
    if wants_json():
        return error_response(status, exc.code, message, exc.details)
    return _page(event_id, status=status, checkin_error=message)


@bp.post("/events/<int:event_id>/day/slots/<int:slot_id>")
@allow(OPERATE)
def event_day_results(event_id: int, slot_id: int):
    event_admin.load_for_edit(event_id)
    changes, errors = [], {}
    item_ids = [int(k[4:]) for k in request.form if k.startswith("att-") and k[4:].isdigit()]
    for item_id in item_ids:
        attendance = request.form.get(f"att-{item_id}", "unknown")
        raw = (request.form.get(f"pos-{item_id}") or "").strip()
        position = None
        if attendance not in ATTENDANCE_VALUES:
            errors[f"att-{item_id}"] = _("Choose present, absent or not yet.")
        if raw:
            if not raw.isdigit() or not 1 <= int(raw) <= 99:
                errors[f"pos-{item_id}"] = _("A place is a number from 1 to 99.")
            else:
                position = int(raw)
        if position is not None and attendance == "no_show":
            errors[f"pos-{item_id}"] = _("A child with a place cannot be marked absent.")
        changes.append(day_svc.ResultChange(item_id, attendance, position))
    if not errors:
        changed, refused = attempt(day_svc.record_results, event_id, slot_id, changes, actor())
        if refused is None:
            flash(_("Results saved (%(n)s changed).", n=changed), "success")
            return redirect(url_for("admin_web.event_day", event_id=event_id) + f"#slot-{slot_id}")
        for key, messages in refused.details.items():
            errors[key] = " ".join(str(m) for m in messages) if isinstance(messages, list) \
                else str(messages)
        if not refused.details:
            errors["slot"] = refused.message
    return _page(event_id, status=422, slot_errors={slot_id: errors},
                 slot_values={slot_id: request.form})


@bp.post("/events/<int:event_id>/day/complete")
@allow(ADMIN)
def event_day_complete(event_id: int):
    refused = attempt(event_lifecycle.change_status, event_id, "completed", actor())[1]
    if refused is not None:
        if refused.status == 404:
            raise refused
        flash(refused.message, "error")
    else:
        flash(_("Event completed. Certificates are being made and e-mailed to the families."),
              "success")
    return redirect(url_for("admin_web.event_day", event_id=event_id) + "#certificates")


@bp.post("/events/<int:event_id>/day/certificates")
@allow(ADMIN)
def event_day_certificates(event_id: int):
    event = event_admin.load_for_edit(event_id)
    if event.status != "completed":
        flash(_("Complete the event first."), "error")
    else:
        # Safe to run again: stored certificates are reused, only new ones are e-mailed.
        generate_event_certificates.delay(event_id)
        flash(_("Making the missing certificates; families get theirs by e-mail."), "success")
    return redirect(url_for("admin_web.event_day", event_id=event_id) + "#certificates")
