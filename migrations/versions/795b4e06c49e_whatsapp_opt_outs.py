"""whatsapp_opt_outs: numbers that wrote STOP to our WhatsApp number

Revision ID: 795b4e06c49e
Revises: e5b20a7c4d11
Create Date: 2026-12-04 19:27:45

Numbers are stored as digits only (what WhatsApp sends), unique: a repeated STOP keeps one row.
"""

import sqlalchemy as sa
from alembic import op

revision = "795b4e06c49e"
down_revision = "e5b20a7c4d11"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "whatsapp_opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), server_default="stop", nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True),
            server_default=sa.text("CURRENT_TIMESTAMP"), nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_whatsapp_opt_outs")),
        sa.UniqueConstraint("phone", name=op.f("uq_whatsapp_opt_outs_phone")),
    )


def downgrade():
    op.drop_table("whatsapp_opt_outs")
