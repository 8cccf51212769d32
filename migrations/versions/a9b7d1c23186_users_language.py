"""users.language: the language of a parent's e-mails and SMS

Revision ID: a9b7d1c23186
Revises: 795b4e06c49e
Create Date: 2026-12-04 19:31:55

Existing accounts get English, what they have been sent so far. A NOT NULL column with a constant
default is added without rewriting the table on PostgreSQL 11+. No CHECK on the value: the
languages offered are configuration (LANGUAGES), and adding one must not need a migration; the
profile form and the service accept only configured ones.
"""

import sqlalchemy as sa
from alembic import op

revision = "a9b7d1c23186"
down_revision = "795b4e06c49e"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("language", sa.String(length=8), server_default="en", nullable=False)
        )


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("language")
