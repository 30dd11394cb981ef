"""Recurring work: one table, run by RQ's CronScheduler (with Redis) or in-process.

    python -m jobs.cron      # RQ cron scheduler (needs REDIS_URL)

Each later feature appends its entry to CRON_TABLE (weekly seller report, nightly backup,
payment-expiry sweep...). Cron expressions are in UTC: Monday 09:00 WIB is "0 2 * * 1".
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from croniter import croniter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CronEntry:
    func_path: str
    queue: str
    interval: int | None = None  # seconds
    cron: str | None = None  # UTC cron expression
    timeout: int = 600


CRON_TABLE: list[CronEntry] = [
    # Re-send outbox rows left pending (SMTP or Redis outage) or claimed by a sender that
    # died (OUTBOX_STALE_CLAIM_SECONDS): mail is delayed by seconds, never lost. Cheap: one
    # indexed query when nothing is due.
    CronEntry("jobs.mail.sweep", "email", interval=30, timeout=300),
    # CRM: daily digest of due and overdue tasks, 07:00 WIB (00:00 UTC).
    CronEntry("jobs.crm.task_digest", "email", cron="0 0 * * *"),
    # Task events: "due tomorrow" to each assignee, 16:00 WIB (09:00 UTC); once per task and
    # due date. Telegram outbox: messages due again or whose sender died.
    CronEntry("jobs.notifications.task_due_notices", "email", cron="0 9 * * *"),
    CronEntry("jobs.notifications.telegram_sweep", "default", interval=60, timeout=300),
    # Payments: ask the gateway about payments still pending past their expiry.
    CronEntry("jobs.payments.reconcile", "default", interval=300),
    # Audit log: rows older than AUDIT_RETENTION_DAYS go to an archive file, 02:30 WIB.
    CronEntry("jobs.audit.archive", "default", cron="30 19 * * *", timeout=3600),
    # Backups: create, verify, rotate, 02:00 WIB (19:00 UTC).
    CronEntry("jobs.backups.nightly", "backups", cron="0 19 * * *", timeout=4 * 3600),
    # Maklon: on-time delivery rate overall and per company, 01:30 WIB (18:30 UTC).
    CronEntry("jobs.otdr.compute", "default", cron="30 18 * * *"),
    # API: forget day-old Idempotency-Keys and API logins past their last refresh token.
    CronEntry("jobs.api.sweep", "default", cron="15 * * * *"),
    # Reports: last week's sales report to every active seller, Monday 09:00 WIB.
    CronEntry("jobs.reports.weekly", "email", cron="0 2 * * 1", timeout=3600),
    # Shipping: the courier manifest of parcels on the way (only with SHIPPING_API_KEY).
    CronEntry("jobs.shipping.sweep", "default", cron="40 * * * *"),
]


def build_rq_scheduler(connection):
    """An RQ CronScheduler with every CRON_TABLE entry registered; each of its heartbeats
    (at least once a minute) also writes the key /healthz reads (`CRON_HEARTBEAT_KEY`)."""
    from rq.cron import CronScheduler

    from app.core.health import CRON_HEARTBEAT_KEY
    from jobs.runner import run

    class RacikCronScheduler(CronScheduler):
        def heartbeat(self) -> None:
            super().heartbeat()
            self.connection.set(CRON_HEARTBEAT_KEY, f"{time.time():.3f}", ex=24 * 3600)

    scheduler = RacikCronScheduler(connection=connection,
                                   name=f"racik-cron-{uuid.uuid4().hex[:6]}")
    for entry in CRON_TABLE:
        scheduler.register(
            run,
            entry.queue,
            args=(entry.func_path, [], {}, None, f"cron:{entry.func_path}"),
            interval=entry.interval,
            cron=entry.cron,
            job_timeout=entry.timeout,
            name=entry.func_path,
        )
    return scheduler


def next_run(entry: CronEntry, after: float) -> float:
    if entry.interval is not None:
        return after + entry.interval
    assert entry.cron
    start = datetime.fromtimestamp(after, UTC)
    return croniter(entry.cron, start).get_next(float)


def start_in_process(app, stop: threading.Event | None = None, *, tick: float = 5.0,
                     table: list[CronEntry] | None = None) -> threading.Thread:
    """Run the cron table in a daemon thread of this process (development without Redis).

    Checks every `tick` seconds; set `stop` to end the thread.
    """
    from app.core.queue import execute_job

    stop = stop or threading.Event()
    entries = CRON_TABLE if table is None else table
    due = {entry: next_run(entry, time.time()) for entry in entries}

    def loop() -> None:
        while not stop.wait(tick):
            now = time.time()
            for entry, when in list(due.items()):
                if when > now:
                    continue
                due[entry] = next_run(entry, now)
                # A failure is logged by execute_job; the next run tries again.
                execute_job(app, entry.func_path, (), {}, None, f"cron:{entry.func_path}",
                            reraise=False)

    thread = threading.Thread(target=loop, name="racik-cron", daemon=True)
    thread.start()
    log.warning("Redis not reachable: cron jobs run in-process (%d entries)", len(entries))
    return thread


def main() -> None:
    from jobs.runner import get_app

    app = get_app()
    from app.core.queue import redis_connection

    connection = redis_connection(app)
    if connection is None:
        raise SystemExit("REDIS_URL is empty: the RQ cron scheduler needs Redis")
    build_rq_scheduler(connection).start()


if __name__ == "__main__":
    main()
