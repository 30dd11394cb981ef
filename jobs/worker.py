"""RQ worker for every Racik queue.

    python -m jobs.worker [--burst] [queue ...]    # default: all queues, email first
                                                   # --burst: empty the queues, then quit

A worker killed with `kill -9` (or its container) must not sit on its job for RQ's default
ten minutes. Its timings are set so that the job is re-run within about 30 seconds:

- the worker heartbeats a running job every JOBS_MONITORING_INTERVAL seconds (5), and the
  job's entry in the started registry expires JOBS_HEARTBEAT_GRACE seconds (10) after the
  last heartbeat — RQ's own grace is a fixed minute (`RacikWorker.get_heartbeat_ttl`);
- every worker runs RQ's maintenance (which re-queues abandoned jobs, first retry
  immediate, see `app.core.queue.RETRY_INTERVALS`) every JOBS_MAINTENANCE_INTERVAL seconds
  (10) instead of every ten minutes; an idle worker wakes from waiting on its queues every
  JOBS_WORKER_TTL - 15 seconds (15) to do so;
- the work horse (RQ's forked child, in a process group of its own) dies with its worker
  (Linux PR_SET_PDEATHSIG), so a re-run never races a leftover horse finishing the job.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys

from rq import Queue, Worker

from jobs.runner import get_app

ORDER = ("email", "default", "invoices", "reports", "backups")
log = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - no prctl: RQ's defaults apply
        log.warning("cannot tie the work horse to its worker's life")
        return
    if os.getppid() != parent_pid:  # the worker died before prctl took effect
        os._exit(1)


class RacikWorker(Worker):
    """RQ's forking worker with a short abandoned-job window (see the module docstring)."""

    heartbeat_grace = 10

    def fork_work_horse(self, job, queue) -> None:
        parent = os.getpid()
        original = self.main_work_horse

        def main_work_horse(job, queue):
            _die_with_parent(parent)
            return original(job, queue)

        self.main_work_horse = main_work_horse  # type: ignore[method-assign]
        try:
            super().fork_work_horse(job, queue)
        finally:
            self.main_work_horse = original  # type: ignore[method-assign]

    def get_heartbeat_ttl(self, job, working_time: float = 0.0) -> int:
        interval = self.job_monitoring_interval
        if job.timeout and job.timeout > 0:
            interval = min(job.timeout - working_time, interval)
        return int(max(1, interval)) + self.heartbeat_grace


def build_worker(app, connection, names: list[str] | tuple[str, ...]) -> RacikWorker:
    """A worker on `names` with the timings of the app's configuration."""
    config = app.config
    worker = RacikWorker(
        [Queue(name, connection=connection) for name in names],
        connection=connection,
        worker_ttl=config["JOBS_WORKER_TTL"],
        maintenance_interval=config["JOBS_MAINTENANCE_INTERVAL"],
        job_monitoring_interval=config["JOBS_MONITORING_INTERVAL"],
    )
    worker.heartbeat_grace = config["JOBS_HEARTBEAT_GRACE"]
    return worker


def main(argv: list[str]) -> None:
    app = get_app()
    from app.core.queue import redis_connection

    connection = redis_connection(app)
    if connection is None:
        raise SystemExit("REDIS_URL is empty: the RQ worker needs Redis")
    burst = "--burst" in argv
    names = [name for name in argv if name != "--burst"] or list(ORDER)
    build_worker(app, connection, names).work(with_scheduler=True, burst=burst)


if __name__ == "__main__":
    main(sys.argv[1:])
