"""RQ worker with the scheduler (Procfile `worker`): runs every queue, and the periodic jobs."""

from __future__ import annotations

import os
import sys

from nibog import create_app
from nibog.core.jobs import QUEUES
from nibog.extensions import get_redis


def main(argv: list[str]) -> int:
    from rq import Queue, Worker

    app = create_app()
    with app.app_context():
        conn = get_redis()
        if conn is None:
            print("REDIS_URL is not set: jobs run in-process; no worker needed.", file=sys.stderr)
            return 1
        names = argv or os.environ.get("RQ_QUEUES", ",".join(QUEUES)).split(",")
        from nibog.core.periodic import register_periodic_jobs

        register_periodic_jobs(conn)
        queues = [Queue(name, connection=conn) for name in names]
        Worker(queues, connection=conn).work(with_scheduler=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
