"""admin dashboard: payment flags to resolve, indexes for the back office's lists

Revision ID: e5b7a9c1d3f2
Revises: d81c3f5a2e47
Create Date: 2026-12-04 19:30:00

payment_flags: a row per reconciliation flag (amount mismatch, late payment, ...) so the
dashboard lists the open ones and a person resolves them. Flags raised before this revision
live only in payments.raw["flags"] and the status history; they are copied in, open.
"""

import sqlalchemy as sa
from alembic import op

revision = "e5b7a9c1d3f2"
down_revision = "d81c3f5a2e47"
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


def downgrade():
    with op.batch_alter_table("payment_flags") as batch:
        batch.drop_index(batch.f("ix_payment_flags_payment_id"))
        batch.drop_index("ix_payment_flags_open")
    op.drop_table("payment_flags")
