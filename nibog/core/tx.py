"""The transaction boundary: one commit per request, job or command.

Services flush; views, jobs and CLI commands call ``commit()`` once. Jobs queued with
``nibog.core.jobs.enqueue`` during the transaction are handed over only after the commit
succeeded, so a rolled-back change sends nothing.
"""

from __future__ import annotations

from nibog.extensions import db


def commit() -> None:
    from nibog.core.jobs import dispatch_committed_jobs

    db.session.commit()
    dispatch_committed_jobs()


def rollback() -> None:
    from nibog.core.jobs import discard_pending_jobs

    db.session.rollback()
    discard_pending_jobs()
