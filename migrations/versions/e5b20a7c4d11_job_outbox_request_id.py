"""job_outbox: the id of the request that queued each job

Revision ID: e5b20a7c4d11
Revises: d81c3f5a2e47
Create Date: 2026-12-04 20:00:00

A job's log lines and error reports carry the X-Request-ID of the request that caused it; a
relayed job reads it from its row. Rows written before the column exist have none.
"""

import sqlalchemy as sa
from alembic import op

revision = "e5b20a7c4d11"
down_revision = "d81c3f5a2e47"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("job_outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=100), nullable=True))


def downgrade():
    with op.batch_alter_table("job_outbox") as batch:
        batch.drop_column("request_id")
