"""The overview page and signing out."""

from __future__ import annotations

from babel.dates import format_date
from flask import redirect, render_template
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import logout_user

from nibog.admin import all_time, charts, failed_jobs, stats
from nibog.admin.views import bp
from nibog.admin.views.access import READ, allow, login_url
from nibog.admin.views.listing import int_arg
from nibog.core.i18n import current_language, day, money


def _age_label(years: int) -> str:
    if years == 0:
        return _("Under 1 year")
    if years == all_time.AGE_GROUPS - 1:
        return _("%(num)s years and older", num=years)
    return ngettext("%(num)s year", "%(num)s years", years)


def build_charts(data: dict) -> list[charts.Chart]:
    locale = f"{current_language()}_IN"
    days = [(format_date(f.day, "d MMM", locale=locale), f) for f in data["per_day"]]
    by_event = [
        (f"{row['title']} ({day(row['event_date'])})" if row["event_id"] else _("Other events"),
         row["amount"])
        for row in data["by_event"]
    ]
    return [
        charts.columns("bookings-per-day", _("Bookings per day"), _("Bookings"),
                       [(label, f.bookings) for label, f in days]),
        charts.columns("revenue-per-day", _("Revenue per day"), _("Revenue"),
                       [(label, f.revenue) for label, f in days], fmt=money),
        charts.rows("revenue-by-city", _("Revenue by city (all time)"), _("Revenue"),
                    data["by_city"], fmt=money),
        charts.rows("revenue-by-event", _("Revenue by event (all time)"), _("Revenue"),
                    by_event, fmt=money),
        charts.rows("game-popularity", _("Most popular games (seats sold)"), _("Seats"),
                    data["games"]),
        charts.rows("age-groups", _("Children's ages at their event (seats sold)"),
                    _("Seats"), [(_age_label(y), n) for y, n in data["ages"]]),
    ]


@bp.get("/")
@allow(READ)
def dashboard():
    data = stats.overview(int_arg("days") or 30)
    failed = failed_jobs.list_failed(limit=5)
    return render_template(
        "admin/dashboard.html", data=data, totals=data["totals"], charts=build_charts(data),
        failed=failed, periods=stats.PERIODS,
    )


@bp.post("/sign-out")
@allow(READ)
def sign_out():
    logout_user()
    return redirect(login_url("/admin/").partition("?")[0])
