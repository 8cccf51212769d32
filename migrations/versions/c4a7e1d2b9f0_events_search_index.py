"""events: full-text search index for the public listing's q filter

Revision ID: c4a7e1d2b9f0
Revises: 6f2e37f758c2
Create Date: 2026-11-25 03:10:00

PostgreSQL only: SQLite (the embedded default) searches with LIKE and has no GIN indexes.
"""

from alembic import op

revision = "c4a7e1d2b9f0"
down_revision = "6f2e37f758c2"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX ix_events_search ON events USING gin "
        "(to_tsvector('simple'::regconfig, (title || ' ' || description)))"
    )


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_events_search")
