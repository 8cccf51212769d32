"""The job outbox: jobs written in the same transaction as the change that caused them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from nibog.core.db_types import JSONType, UTCDateTime
from nibog.extensions import db


class OutboxJob(db.Model):
    __tablename__ = "job_outbox"
    __table_args__ = (
        # The relay scans only what has not reached Redis yet.
        Index(
            "ix_job_outbox_pending",
            "id",
            postgresql_where=text("relayed_at IS NULL"),
            sqlite_where=text("relayed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str] = mapped_column(String(30), nullable=False)
    func: Mapped[str] = mapped_column(String(200), nullable=False)
    args: Mapped[list | None] = mapped_column(JSONType)
    kwargs: Mapped[dict | None] = mapped_column(JSONType)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, server_default=text("0"))
    # The job's own retry count (``enqueue(retries=)``): a relayed job keeps it. NULL: rows
    # written before the column existed, relayed with the default.
    retries: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    # X-Request-ID of the request that queued the job: its log lines carry it too.
    request_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), nullable=False, server_default=text("CURRENT_TIMESTAMP")
    )
    relayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
