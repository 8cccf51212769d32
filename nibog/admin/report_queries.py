"""What each report holds: its columns, the query that reads its rows, and how a row is
written (``build_query``). Money columns are integer paise, plus a rupee string for people
reading the sheet. The job that writes the file is ``nibog.admin.reports``."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, literal, select, union_all

from nibog.accounts.models import Child, User
from nibog.booking.models import Booking, BookingItem, PromoCode
from nibog.catalog.models import City, Event, EventGame, GameSlot, GameTemplate
from nibog.core.timeutil import IST, age_in_months, isoformat_ist
from nibog.extensions import db
from nibog.payments.models import Payment, Refund

KINDS = ("bookings", "payments", "revenue", "promo_usage", "participants", "attendance")


def _rupees(paise: int | None) -> str:
    paise = paise or 0
    return f"{paise // 100}.{paise % 100:02d}"


def _date_range(stmt: Select, column, filters: dict, *, is_datetime: bool) -> Select:
    start, end = filters.get("date_from"), filters.get("date_to")
    if is_datetime:
        # Dates are days in India: convert their bounds to UTC instants.
        if start:
            stmt = stmt.where(column >= datetime.combine(date.fromisoformat(start), time(), IST))
        if end:
            upper = datetime.combine(date.fromisoformat(end) + timedelta(days=1), time(), IST)
            stmt = stmt.where(column < upper)
        return stmt
    if start:
        stmt = stmt.where(column >= date.fromisoformat(start))
    if end:
        stmt = stmt.where(column <= date.fromisoformat(end))
    return stmt


def _bookings(filters: dict) -> tuple[list[str], Select, Any]:
    items = (
        select(BookingItem.booking_id, func.count(func.distinct(BookingItem.child_id)).label("children"),
               func.count().label("games"))
        .group_by(BookingItem.booking_id)
        .subquery()
    )
    stmt = (
        select(Booking, Event.title, Event.event_date, User.full_name, User.email, User.phone,
               items.c.children, items.c.games)
        .join(Event, Event.id == Booking.event_id)
        .outerjoin(User, User.id == Booking.user_id)
        .outerjoin(items, items.c.booking_id == Booking.id)
        .order_by(Booking.id)
    )
    if filters.get("event_id"):
        stmt = stmt.where(Booking.event_id == int(filters["event_id"]))
    if filters.get("status"):
        stmt = stmt.where(Booking.status == filters["status"])
    stmt = _date_range(stmt, Booking.created_at, filters, is_datetime=True)
    header = ["booking_number", "status", "source", "created_at", "event_id", "event", "event_date",
              "parent_name", "email", "phone", "children", "games", "subtotal_paise",
              "discount_paise", "total_paise", "total_inr", "payment_mode"]

    def row(r):
        b, title, event_date, name, email, phone, children, games = r
        return [b.booking_number, b.status, b.source, isoformat_ist(b.created_at), b.event_id, title,
                event_date.isoformat(), name or b.guest_name or "", email or b.guest_email or "",
                phone or b.guest_phone or "", children or 0, games or 0, b.subtotal, b.discount,
                b.total, _rupees(b.total), b.payment_mode]

    return header, stmt, row


def _payments(filters: dict) -> tuple[list[str], Select, Any]:
    stmt = (
        select(Payment, Booking.booking_number, Booking.event_id)
        .join(Booking, Booking.id == Payment.booking_id)
        .order_by(Payment.id)
    )
    if filters.get("event_id"):
        stmt = stmt.where(Booking.event_id == int(filters["event_id"]))
    if filters.get("status"):
        stmt = stmt.where(Payment.status == filters["status"])
    stmt = _date_range(stmt, Payment.created_at, filters, is_datetime=True)
    header = ["payment_id", "booking_number", "event_id", "provider", "provider_order_id",
              "provider_payment_id", "status", "method", "amount_paise", "refunded_paise",
              "amount_inr", "currency", "created_at", "captured_at"]

    def row(r):
        p, number, event_id = r
        return [p.id, number, event_id, p.provider, p.provider_order_id, p.provider_payment_id or "",
                p.status, p.method or "", p.amount, p.amount_refunded, _rupees(p.amount), p.currency,
                isoformat_ist(p.created_at), isoformat_ist(p.captured_at) or ""]

    return header, stmt, row


def _seat_rows(filters: dict, *, attendance: bool) -> tuple[list[str], Select, Any]:
    stmt = (
        select(BookingItem, Booking.booking_number, Booking.status, Event.title, Event.event_date,
               GameTemplate.name, GameSlot.start_time, GameSlot.end_time, Child.full_name,
               Child.date_of_birth, User.full_name, User.phone, User.email, Booking.guest_name,
               Booking.guest_phone, Booking.guest_email)
        .join(Booking, Booking.id == BookingItem.booking_id)
        .join(Event, Event.id == Booking.event_id)
        .join(GameSlot, GameSlot.id == BookingItem.slot_id)
        .join(EventGame, EventGame.id == GameSlot.event_game_id)
        .join(GameTemplate, GameTemplate.id == EventGame.game_template_id)
        .join(Child, Child.id == BookingItem.child_id)
        .outerjoin(User, User.id == Booking.user_id)
        .where(and_(BookingItem.is_live, Booking.status.in_(("confirmed", "completed"))))
        .order_by(Event.event_date, Event.id, GameSlot.start_time, GameSlot.id, Child.full_name,
                  BookingItem.id)
    )
    if filters.get("event_id"):
        stmt = stmt.where(Booking.event_id == int(filters["event_id"]))
    if filters.get("slot_id"):
        stmt = stmt.where(BookingItem.slot_id == int(filters["slot_id"]))
    stmt = _date_range(stmt, Event.event_date, filters, is_datetime=False)
    header = ["event", "event_date", "game", "slot_start", "slot_end", "child_name",
              "age_months", "parent_name", "parent_phone", "parent_email", "booking_number"]
    if attendance:
        header += ["attendance", "checked_in_at", "result_position"]
    else:
        header += ["date_of_birth", "booking_status"]

    def row(r):
        (item, number, status, title, event_date, game, start, end, child, dob, parent, phone,
         email, g_name, g_phone, g_email) = r
        out = [title, event_date.isoformat(), game, start.strftime("%H:%M"), end.strftime("%H:%M"),
               child, age_in_months(dob, event_date), parent or g_name or "", phone or g_phone or "",
               email or g_email or "", number]
        if attendance:
            out += [item.attendance, isoformat_ist(item.checked_in_at) or "",
                    item.result_position or ""]
        else:
            out += [dob.isoformat(), status]
        return out

    return header, stmt, row


SOLD = ("confirmed", "completed")


def _ist_day(column):
    """The calendar day in India of a UTC timestamp, computed by the database."""
    if db.session.get_bind().dialect.name == "sqlite":
        return func.date(column, "+5 hours", "+30 minutes")
    return func.date(func.timezone("Asia/Kolkata", column))


def _revenue(filters: dict) -> tuple[list[str], Select, Any]:
    """Money kept per day and event, as the dashboard counts it (booking.stats): captured
    online payments on the day they were captured, minus refunds that did not fail on the
    day they were asked for, plus cash bookings sold on the day they were confirmed."""
    zero = literal(0, type_=Booking.total.type)
    captured = (
        select(_ist_day(Payment.captured_at).label("day"), Booking.event_id,
               Payment.amount.label("captured"), zero.label("refunded"), zero.label("cash"))
        .join(Booking, Booking.id == Payment.booking_id)
        .where(Payment.captured_at.is_not(None))
    )
    refunded = (
        select(_ist_day(Refund.created_at), Booking.event_id, zero, Refund.amount, zero)
        .join(Payment, Payment.id == Refund.payment_id)
        .join(Booking, Booking.id == Payment.booking_id)
        .where(Refund.status != "failed")
    )
    cash_day = _ist_day(func.coalesce(Booking.confirmed_at, Booking.created_at))
    cash = (
        select(cash_day, Booking.event_id, zero, zero, Booking.total)
        .where(Booking.payment_mode == "cash", Booking.status.in_(SOLD))
    )
    money = union_all(captured, refunded, cash).subquery("money")
    stmt = (
        select(money.c.day, money.c.event_id, Event.title, City.name,
               func.sum(money.c.captured), func.sum(money.c.refunded), func.sum(money.c.cash))
        .join(Event, Event.id == money.c.event_id)
        .join(City, City.id == Event.city_id)
        .group_by(money.c.day, money.c.event_id, Event.title, City.name)
        .order_by(money.c.day, money.c.event_id)
    )
    if filters.get("event_id"):
        stmt = stmt.where(money.c.event_id == int(filters["event_id"]))
    if filters.get("date_from"):
        stmt = stmt.where(money.c.day >= _day_value(filters["date_from"]))
    if filters.get("date_to"):
        stmt = stmt.where(money.c.day <= _day_value(filters["date_to"]))
    header = ["day", "event_id", "event", "city", "captured_paise", "refunded_paise",
              "cash_paise", "net_paise", "net_inr"]

    def row(r):
        day, event_id, title, city, captured_sum, refunded_sum, cash_sum = r
        net = int(captured_sum or 0) - int(refunded_sum or 0) + int(cash_sum or 0)
        return [str(day), event_id, title, city, int(captured_sum or 0), int(refunded_sum or 0),
                int(cash_sum or 0), net, _rupees(net)]

    return header, stmt, row


def _day_value(iso: str):
    # SQLite's date() is text; PostgreSQL's is a date.
    if db.session.get_bind().dialect.name == "sqlite":
        return iso
    return date.fromisoformat(iso)


def _promo_usage(filters: dict) -> tuple[list[str], Select, Any]:
    """Each promo code: uses counted on the code, and the sold bookings that carried it
    (filtered by event and by the day they were made) with the discount they got."""
    joined = and_(Booking.promo_code_id == PromoCode.id, Booking.status.in_(SOLD))
    if filters.get("event_id"):
        joined = and_(joined, Booking.event_id == int(filters["event_id"]))
    if filters.get("date_from"):
        joined = and_(joined, Booking.created_at
                      >= datetime.combine(date.fromisoformat(filters["date_from"]), time(), IST))
    if filters.get("date_to"):
        upper = datetime.combine(date.fromisoformat(filters["date_to"]) + timedelta(days=1),
                                 time(), IST)
        joined = and_(joined, Booking.created_at < upper)
    stmt = (
        select(PromoCode, func.count(Booking.id), func.coalesce(func.sum(Booking.discount), 0),
               func.coalesce(func.sum(Booking.total), 0))
        .outerjoin(Booking, joined)
        .group_by(PromoCode.id)
        .order_by(PromoCode.code)
    )
    header = ["code", "kind", "value", "active", "valid_from", "valid_until", "used_count",
              "max_uses", "bookings_sold", "discount_paise", "discount_inr", "booking_total_paise"]

    def row(r):
        promo, sold, discount, total = r
        return [promo.code, promo.kind, promo.value, promo.is_active,
                isoformat_ist(promo.valid_from) or "", isoformat_ist(promo.valid_until) or "",
                promo.used_count, promo.max_uses if promo.max_uses is not None else "",
                sold, int(discount), _rupees(int(discount)), int(total)]

    return header, stmt, row


def build_query(kind: str, filters: dict):
    if kind == "bookings":
        return _bookings(filters)
    if kind == "payments":
        return _payments(filters)
    if kind == "revenue":
        return _revenue(filters)
    if kind == "promo_usage":
        return _promo_usage(filters)
    return _seat_rows(filters, attendance=kind == "attendance")


