"""job_outbox: each job's own retry count, so a relayed job keeps it

Revision ID: d81c3f5a2e47
Revises: c4a7e1d2b9f0
Create Date: 2026-11-30 16:10:00

Rows written before this column exist are relayed with the default (NULL = 3 retries).
"""

import sqlalchemy as sa
from alembic import op

revision = "d81c3f5a2e47"
down_revision = "c4a7e1d2b9f0"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("job_outbox") as batch:
        batch.add_column(sa.Column("retries", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("job_outbox") as batch:
        batch.drop_column("retries")
