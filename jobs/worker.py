"""RQ worker for every Racik queue.

    python -m jobs.worker [queue ...]    # default: all queues, email first
"""

from __future__ import annotations

import sys

from rq import Queue, Worker

from jobs.runner import get_app

ORDER = ("email", "default", "invoices", "reports", "backups")


def main(argv: list[str]) -> None:
    app = get_app()
    from app.core.queue import redis_connection

    connection = redis_connection(app)
    if connection is None:
        raise SystemExit("REDIS_URL is empty: the RQ worker needs Redis")
    names = argv or list(ORDER)
    worker = Worker([Queue(name, connection=connection) for name in names],
                    connection=connection)
    worker.work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
