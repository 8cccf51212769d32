"""admin_stats_snapshots: the dashboard's all-time figures, recomputed by the worker

Revision ID: 4914f6405cc6
Revises: e5b7a9c1d3f2
Create Date: 2026-12-04 22:16:31

The overview's all-time charts (revenue by city and by event, game popularity, children's ages)
sum every booking ever sold: most of the page's time with 100k bookings (docs/admin-dashboard.md).
A periodic job stores them here and the page reads one row. A new table, nothing to copy: the
first view or the first run of the job fills it.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "4914f6405cc6"
down_revision = "e5b7a9c1d3f2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "admin_stats_snapshots",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("data", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()),
                                                 "postgresql"), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_admin_stats_snapshots")),
    )


def downgrade():
    op.drop_table("admin_stats_snapshots")
