"""The pay journey's success path in few statements (issue 21, docs/performance.md).

Opening an order used to read the booking, the event's status, the open order and the payer's
contact in four statements and write the order and its history row in four more (a savepoint,
the INSERT, its release, the history INSERT at the flush); capturing it wrote the payment and its
history row as two. Here:

- ``payable``: one read of the booking, its event's status, its account's contact and its open
  order (the rules are then checked in Python, in the same order and with the same answers);
- ``insert_open_order``: the order and its history row in one statement, ``INSERT ... ON
  CONFLICT DO NOTHING`` - the partial unique index on open orders still decides between two
  parallel requests (the loser gets no row and answers with the winner's order, as it did
  after its savepoint's IntegrityError);
- ``capture``: the payment's capture and its history row in one statement, on the row the
  caller has locked.

The writes use data-modifying CTEs, so they are PostgreSQL's; elsewhere (the embedded SQLite)
the same work is done by flushing ORM objects, as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, cast, func, insert, null, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError

from nibog.accounts.models import User
from nibog.booking.models import Booking
from nibog.catalog.models import Event
from nibog.core import metrics, rows
from nibog.extensions import db
from nibog.payments.history import record
from nibog.payments.models import Payment, PaymentStatus, PaymentStatusChange

_P, _H = Payment.__table__, PaymentStatusChange.__table__
_B, _E, _U = Booking.__table__, Event.__table__, User.__table__

_STATEMENTS: dict[str, Any] = {}


def applies() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _statement(name: str, build):
    # Built on first use, like booking.fastpath.one_statement (foreign key types resolve late).
    stmt = _STATEMENTS.get(name)
    if stmt is None:
        stmt = _STATEMENTS[name] = build()
    return stmt


# -- opening an order --------------------------------------------------------------------------
def _build_payable():
    open_order = _P.alias("open_order")
    return (
        select(
            _B.c.id, _B.c.user_id, _B.c.booking_number, _B.c.status,
            _B.c.hold_expires_at, _B.c.total, _B.c.currency, _B.c.access_code_hash,
            _B.c.guest_name, _B.c.guest_email, _B.c.guest_phone,
            _E.c.status.label("event_status"),
            _U.c.full_name.label("user_name"), _U.c.email.label("user_email"),
            _U.c.phone.label("user_phone"),
            *[c.label(f"p_{c.key}") for c in open_order.c],
        )
        .select_from(
            _B.join(_E, _E.c.id == _B.c.event_id)
            .outerjoin(_U, _U.c.id == _B.c.user_id)
            .outerjoin(open_order, and_(open_order.c.booking_id == _B.c.id,
                                        open_order.c.status == PaymentStatus.CREATED.value))
        )
        .where(_B.c.id == bindparam("booking_id"))
        # Planning this four-table read cost PostgreSQL seven times its execution.
        .execution_options(prepare=True)
    )


def payable(booking_id: int):
    """The booking's row (its columns by name, plus ``event_status``, ``user_name``,
    ``user_email``, ``user_phone``), or None. ``open_order(row)`` is its open order."""
    return db.session.execute(
        _statement("payable", _build_payable), {"booking_id": booking_id}
    ).first()


def open_order(row) -> Payment | None:
    """The booking's open order read with ``payable``, as the session's object."""
    if row._mapping["p_id"] is None:
        return None
    return rows.load(Payment, rows.Part(row, "p_", _P))


def _typed(table, name: str, prefix: str):
    return cast(bindparam(f"{prefix}{name}"), table.c[name].type)


ORDER_VALUES = ("booking_id", "user_id", "provider", "provider_order_id", "amount", "currency",
                "status", "raw")


def _build_insert_open():
    order = (
        postgresql.insert(_P)
        .values({name: bindparam(f"o_{name}") for name in ORDER_VALUES})
        # Any unique index: the open order's (uq_payments_open_per_booking) is the one that
        # matters; a clash on another (an order id the gateway gave twice) leaves no open
        # order to answer with, and the caller fails as the savepoint's IntegrityError did.
        .on_conflict_do_nothing()
        .returning(*_P.c)
        .cte("o")
    )
    history = (
        insert(_H)
        .from_select(["payment_id", "from_status", "to_status", "source", "note"],
                     select(order.c.id, null(), order.c.status, _typed(_H, "source", "h_"),
                            _typed(_H, "note", "h_")).select_from(order))
        .cte("h")
    )
    return select(order).add_cte(history).execution_options(prepare=True)


def insert_open_order(values: dict[str, Any], *, source: str, note: str) -> Payment | None:
    """INSERT the open order and its history row; None when another request's open order for
    the booking is there first (the caller reads and answers with that one)."""
    if not applies():
        payment = Payment(**values)
        try:
            with db.session.begin_nested():
                db.session.add(payment)
                db.session.flush()
        except IntegrityError:
            return None
        record(payment, None, source=source, note=note)
        return payment
    params = {f"o_{k}": v for k, v in values.items()}
    params.update(h_source=source[:20], h_note=note[:2000])
    row = db.session.execute(_statement("insert_open", _build_insert_open), params).first()
    if row is None:
        return None
    metrics.payment_changed(row.provider, row.status)
    return rows.adopt(Payment, row)


# -- capturing it ------------------------------------------------------------------------------
def _build_capture():
    captured = (
        update(_P)
        .where(_P.c.id == bindparam("c_id"))
        .values(status=PaymentStatus.CAPTURED.value,
                provider_payment_id=bindparam("c_provider_payment_id"),
                method=bindparam("c_method"), captured_at=bindparam("c_captured_at"),
                failure_reason=null(), updated_at=func.now())
        .returning(*_P.c)
        .cte("c")
    )
    history = (
        insert(_H)
        .from_select(["payment_id", "from_status", "to_status", "source", "note"],
                     select(captured.c.id, _typed(_H, "from_status", "h_"), captured.c.status,
                            _typed(_H, "source", "h_"), _typed(_H, "note", "h_"))
                     .select_from(captured))
        .cte("h")
    )
    return select(captured).add_cte(history).execution_options(prepare=True)


def capture(payment: Payment, *, provider_payment_id, method, captured_at, source: str,
            note: str) -> None:
    """Mark the locked ``payment`` captured and write its history row, in one statement; the
    object takes the row's values as its committed state."""
    before = payment.status
    if not applies():
        payment.status = PaymentStatus.CAPTURED
        payment.provider_payment_id = provider_payment_id
        payment.method = method
        payment.captured_at = captured_at
        payment.failure_reason = None
        record(payment, before, source=source, note=note)
        db.session.flush()
        return
    row = db.session.execute(_statement("capture", _build_capture), {
        "c_id": payment.id, "c_provider_payment_id": provider_payment_id, "c_method": method,
        "c_captured_at": captured_at, "h_from_status": before, "h_source": source[:20],
        "h_note": note[:2000],
    }).one()
    rows.refresh(payment, row)
    if before != row.status:
        metrics.payment_changed(row.provider, row.status)

