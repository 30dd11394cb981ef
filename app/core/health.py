"""What /healthz reports: every part the site needs, and which one is down.

Critical (any of them down: 503): the database; Redis when jobs run on RQ; a live RQ worker
while jobs wait; the cron scheduler's heartbeat (rq mode); the email outbox not stuck.
Reported only: queue depths and the oldest queued job's age, the outbox backlog, the last
backup's age.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, text

from app.core.clock import utcnow
from app.core.models import EmailOutbox, OutboxStatus
from app.extensions import db

log = logging.getLogger(__name__)

CRON_HEARTBEAT_KEY = "racik:cron:heartbeat"  # written by jobs.cron's scheduler


def _age(moment: datetime | None, now: datetime) -> float | None:
    return round((now - moment).total_seconds(), 1) if moment is not None else None


def outbox_backlog() -> dict[str, Any]:
    """Outbox rows per status and the age of the oldest row due to be sent (pending and
    due, or claimed by a sender)."""
    now = utcnow()
    counts = dict(db.session.execute(
        select(EmailOutbox.status, func.count()).group_by(EmailOutbox.status)).all())
    oldest = db.session.scalar(select(func.min(EmailOutbox.next_attempt_at)).where(or_(
        (EmailOutbox.status == OutboxStatus.PENDING) & (EmailOutbox.next_attempt_at <= now),
        EmailOutbox.status == OutboxStatus.SENDING)))
    if oldest is not None and oldest.tzinfo is None:  # SQLite hands back naive UTC
        from datetime import UTC

        oldest = oldest.replace(tzinfo=UTC)
    for status in (OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.SENT,
                   OutboxStatus.FAILED):
        counts.setdefault(status, 0)
    return {"counts": counts, "oldest_due_seconds": _age(oldest, now)}


def _database() -> dict[str, Any]:
    try:
        db.session.execute(text("SELECT 1"))
        return {"status": "ok"}
    except Exception:  # report, never raise: this is what monitors call when things break
        log.exception("health check: database unavailable")
        db.session.rollback()
        return {"status": "down"}


def _jobs(client, config) -> dict[str, Any]:
    """Workers, queues and cron as RQ's registries in Redis see them."""
    from rq import Queue, Worker

    from app.core.queue import QUEUES

    now = time.time()
    alive_within = config["JOBS_WORKER_TTL"] + 30
    workers: list[dict[str, Any]] = []
    for worker in Worker.all(connection=client):
        beat = worker.last_heartbeat.timestamp() if worker.last_heartbeat else 0
        workers.append({"name": worker.name, "state": str(worker.get_state()),
                        "queues": worker.queue_names(),
                        "heartbeat_age": round(now - beat, 1) if beat else None,
                        "live": bool(beat) and now - beat <= alive_within})
    queues = {}
    waiting = 0
    for name in QUEUES:
        queue = Queue(name, connection=client)
        depth = queue.count
        oldest = None
        first = queue.get_job_ids(0, 1) if depth else []
        if first:
            job = queue.fetch_job(first[0])
            if job is not None and job.enqueued_at is not None:
                oldest = round(now - job.enqueued_at.timestamp(), 1)
        waiting += depth
        live_here = any(w["live"] and name in w["queues"] for w in workers)
        queues[name] = {"queued": depth, "oldest_queued_seconds": oldest,
                        "started": queue.started_job_registry.count,
                        "failed": queue.failed_job_registry.count,
                        "status": "down" if depth and not live_here else "ok"}
    live = sum(1 for w in workers if w["live"])
    raw = client.get(CRON_HEARTBEAT_KEY)
    cron_age = round(now - float(raw), 1) if raw else None
    cron_ok = cron_age is not None and cron_age <= config["HEALTH_CRON_MAX_AGE"]
    return {
        "workers": {"status": "down" if waiting and not live else "ok", "live": live,
                    "list": workers},
        "queues": queues,
        "cron": {"status": "ok" if cron_ok else "down", "heartbeat_age": cron_age},
    }


def _last_backup(now: datetime) -> dict[str, Any]:
    from sqlalchemy import Table

    table: Table | None = db.metadata.tables.get("backup_records")
    if table is None:
        return {"age_seconds": None}
    last = db.session.scalar(select(func.max(table.c.created_at)))
    if last is not None and last.tzinfo is None:
        from datetime import UTC

        last = last.replace(tzinfo=UTC)
    return {"age_seconds": _age(last, now)}


def health_report() -> tuple[bool, dict[str, Any]]:
    """(healthy, the full report). Never raises."""
    from app.core.queue import redis_answers, redis_connection

    config = current_app.config
    mode = config["JOBS_MODE_ACTIVE"]
    parts: dict[str, Any] = {"database": _database(), "jobs_mode": mode}
    if config.get("REDIS_URL"):
        parts["redis"] = {"status": "ok" if redis_answers() else
                          ("down" if mode == "rq" else "degraded")}
    else:
        parts["redis"] = {"status": "disabled"}
    if mode == "rq" and parts["redis"]["status"] == "ok":
        try:
            parts.update(_jobs(redis_connection(), config))
        except Exception:
            log.exception("health check: cannot read the RQ registries")
            parts["redis"] = {"status": "down"}
    else:
        parts["cron"] = {"status": "ok" if mode != "rq" else "down", "in_process": mode != "rq"}
    if parts["database"]["status"] == "ok":
        try:
            backlog = outbox_backlog()
            stuck = (backlog["oldest_due_seconds"] or 0) > config["HEALTH_OUTBOX_MAX_AGE"]
            parts["outbox"] = {"status": "down" if stuck else "ok", **backlog}
            parts["backup"] = _last_backup(utcnow())
        except Exception:
            log.exception("health check: cannot read the outbox")
            db.session.rollback()
            parts["outbox"] = {"status": "unknown"}
    failing = sorted(name for name, part in parts.items()
                     if isinstance(part, dict) and part.get("status") == "down")
    failing += sorted(f"queue:{name}" for name, part in parts.get("queues", {}).items()
                      if part["status"] == "down")
    parts["failing"] = failing
    parts["status"] = "down" if failing else "ok"
    return not failing, parts
