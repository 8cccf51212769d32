"""admin dashboard: payment flags to resolve, indexes for the back office's lists

Revision ID: e5b7a9c1d3f2
Revises: a9b7d1c23186
Create Date: 2026-12-04 19:30:00

payment_flags: a row per reconciliation flag (amount mismatch, late payment, ...) so the
dashboard lists the open ones and a person resolves them. Flags raised before this revision
live only in payments.raw["flags"] and the status history; they are copied in, open.

Indexes, measured with bench/admin_bench.py (100k bookings): the lists sorted newest first
(bookings, payments, notifications: created_at), revenue per day (payments.captured_at), cash
bookings (a partial index: their sums are in every revenue figure), and
trigram indexes (pg_trgm, PostgreSQL only) for the search boxes' "part of a name, address or
phone" - users, children, and the guest columns of guest bookings only (a partial index: an
app booking's insert does not pay for them). pg_trgm is a trusted extension (PostgreSQL 13+):
the database owner may create it.
"""

import sqlalchemy as sa
from alembic import op

revision = "e5b7a9c1d3f2"
down_revision = "a9b7d1c23186"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "payment_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("payment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True),
                  server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True),
                  server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('amount_mismatch', 'late_payment', 'duplicate_capture', 'refund_failed', "
            "'other')",
            name=op.f("ck_payment_flags_kind_valid"),
        ),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"],
                                name=op.f("fk_payment_flags_payment_id_payments"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["resolved_by_id"], ["users.id"],
                                name=op.f("fk_payment_flags_resolved_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_flags")),
    )
    with op.batch_alter_table("payment_flags") as batch:
        batch.create_index("ix_payment_flags_open", ["created_at"],
                           postgresql_where=sa.text("resolved_at IS NULL"),
                           sqlite_where=sa.text("resolved_at IS NULL"))
        batch.create_index(batch.f("ix_payment_flags_payment_id"), ["payment_id"])
    # Flags raised before: one open row per FLAG entry of the status history.
    op.execute(
        "INSERT INTO payment_flags (payment_id, kind, note, created_at, updated_at) "
        "SELECT payment_id, CASE WHEN note LIKE 'FLAG: amount_mismatch%' THEN 'amount_mismatch' "
        "WHEN note LIKE 'FLAG: second capture%' THEN 'duplicate_capture' "
        "WHEN note LIKE 'FLAG: refund #%' THEN 'refund_failed' ELSE 'other' END, "
        "substr(note, 7), created_at, created_at "
        "FROM payment_status_history WHERE note LIKE 'FLAG: %' ORDER BY id"
    )
    _indexes_up()


TRIGRAM = (
    # (index, table, column, partial condition)
    ("ix_users_full_name_trgm", "users", "full_name", None),
    ("ix_users_email_trgm", "users", "email", None),
    ("ix_users_phone_trgm", "users", "phone", None),
    ("ix_children_full_name_trgm", "children", "full_name", None),
    ("ix_bookings_guest_name_trgm", "bookings", "guest_name", "guest_email IS NOT NULL"),
    ("ix_bookings_guest_email_trgm", "bookings", "guest_email", "guest_email IS NOT NULL"),
    ("ix_bookings_guest_phone_trgm", "bookings", "guest_phone", "guest_email IS NOT NULL"),
)
PLAIN = (
    ("ix_bookings_created_at", "bookings", "created_at"),
    ("ix_payments_created_at", "payments", "created_at"),
    ("ix_payments_captured_at", "payments", "captured_at"),
    ("ix_notifications_created_at", "notifications", "created_at"),
)


CASH_ONLY = sa.text("payment_mode = 'cash'")


def _indexes_up():
    for name, table, column in PLAIN:
        op.create_index(name, table, [column])
    op.create_index("ix_bookings_cash", "bookings", ["status"], postgresql_where=CASH_ONLY,
                    sqlite_where=CASH_ONLY)
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column, where in TRIGRAM:
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)"
                   + (f" WHERE {where}" if where else ""))


def _indexes_down():
    if op.get_bind().dialect.name == "postgresql":
        for name, _table, _column, _where in TRIGRAM:
            op.execute(f"DROP INDEX IF EXISTS {name}")
        # The extension stays: other objects may use it by now.
    op.drop_index("ix_bookings_cash", table_name="bookings")
    for name, table, _column in PLAIN:
        op.drop_index(name, table_name=table)


def downgrade():
    _indexes_down()
    with op.batch_alter_table("payment_flags") as batch:
        batch.drop_index(batch.f("ix_payment_flags_payment_id"))
        batch.drop_index("ix_payment_flags_open")
    op.drop_table("payment_flags")
