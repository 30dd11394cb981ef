"""Background jobs: enqueue after commit, run with a JobRecord, report progress.

A job is named by the dotted path of a function in `jobs/` (the app never imports `jobs/`
statically) and takes ids, never objects. `enqueue_after_commit` only *records* the wish;
the job is handed to its runner once the surrounding transaction commits, and forgotten if
it rolls back — so a job never sees data that does not exist.

Modes (config `JOBS_MODE`, decided once per app in `init_queue`):
- `rq`: a real RQ queue in Redis (worker: `python -m jobs.worker`);
- `thread`: no Redis; jobs run in-process in a small thread pool after commit;
- `sync`: run in the caller's thread when the committed transaction ends, after the session
  gave its connection back to the pool (tests; `commit()` returns once they ran).
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis
from flask import Flask, current_app
from sqlalchemy import event, update
from sqlalchemy.orm import Session
from werkzeug.utils import import_string

from app.core.app_object import current_app_object
from app.core.clock import utcnow
from app.core.db import (
    after_outer_commit,
    after_outer_rollback,
    set_read_only_transactions,
    write_connection,
)
from app.core.logs import current_job_id, current_log_id, current_request_id
from app.core.models import JobRecord, JobStatus
from app.extensions import db

log = logging.getLogger(__name__)

QUEUES = ("default", "email", "invoices", "reports", "backups")
RUNNER = "jobs.runner.run"  # the RQ-side entry point; it calls `execute_job` below
# Seconds before each retry. The first is immediate: RQ also retries this way a job whose
# worker died (its heartbeat expired), and a delayed retry would wait for a scheduler that
# may have died with that worker (its lock outlives it by a minute).
RETRY_INTERVALS = (0, 60, 300)
_PENDING_KEY = "racik_pending_jobs"
_SYNC_KEY = "racik_sync_jobs"  # committed, to run once the connection is back in the pool
_current_record_id: dict[int, int] = {}  # thread id -> JobRecord id, for job_progress()
_local_progress: dict[int, dict[str, Any]] = {}  # record id -> progress, without Redis


@dataclass
class PendingJob:
    func_path: str
    args: tuple = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    queue: str = "default"
    job_id: str = ""
    record_id: int | None = None
    retries: int = 3
    timeout: int | None = None
    request_id: str = "-"  # the request that queued it: the job's log lines carry it


def redis_connection(app: Flask | None = None) -> redis.Redis | None:
    """A Redis client for REDIS_URL, or None when it is not configured."""
    app = app or current_app
    url = app.config.get("REDIS_URL") or ""
    if not url:
        return None
    client = app.extensions.get("racik_redis")
    if client is None:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2)
        app.extensions["racik_redis"] = client
    return client


def redis_answers(app: Flask | None = None) -> bool:
    client = redis_connection(app)
    if client is None:
        return False
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


def init_queue(app: Flask) -> None:
    """Decide the jobs mode once and wire the after-commit hooks."""
    mode = app.config["JOBS_MODE"]
    if mode == "auto":
        mode = "rq" if redis_answers(app) else "thread"
        if mode == "thread":
            log.warning(
                "Redis is not reachable at REDIS_URL: background jobs run in-process after "
                "commit (no RQ worker needed)."
            )
    if mode not in {"rq", "thread", "sync"}:
        raise RuntimeError(f"JOBS_MODE must be auto, rq, thread or sync, not {mode!r}")
    app.config["JOBS_MODE_ACTIVE"] = mode
    if mode == "thread":
        app.extensions["racik_jobs_pool"] = ThreadPoolExecutor(
            max_workers=2, thread_name_prefix="racik-job"
        )
    _install_session_hooks()


def enqueue_after_commit(
    func_path: str,
    *args: Any,
    queue: str = "default",
    track: bool = False,
    owner_id: int | None = None,
    description: str = "",
    retries: int = 3,
    timeout: int | None = None,
    **kwargs: Any,
) -> JobRecord | None:
    """Run `func_path(*args, **kwargs)` in the background once the current transaction
    commits. Nothing happens if it rolls back.

    With `track=True` a `JobRecord` is added to the same transaction and returned, so a page
    can show its self-polling status partial (`core.job_status`).
    """
    if queue not in QUEUES:
        raise ValueError(f"unknown queue {queue!r}")
    job = PendingJob(
        func_path=func_path,
        args=args,
        kwargs=kwargs,
        queue=queue,
        job_id=f"racik-{uuid.uuid4().hex}",
        retries=retries,
        timeout=timeout,
        request_id=current_request_id(),
    )
    record = None
    if track:
        record = JobRecord(
            job_id=job.job_id,
            name=func_path,
            description=description,
            queue=queue,
            owner_id=owner_id,
        )
        db.session.add(record)
        db.session.flush()
        job.record_id = record.id
    session = db.session()
    session.info.setdefault(_PENDING_KEY, []).append(job)
    return record


def job_progress(percent: int, message: str = "") -> None:
    """Report progress of the running tracked job; the status partial shows it at once.

    Progress lives in Redis (or, without Redis, in this process) rather than in the
    database: a job's own transaction may hold SQLite's write lock, and progress must not
    wait for the job to commit.
    """
    record_id = _current_record_id.get(threading.get_ident())
    if record_id is None:
        return
    value = {"progress": max(0, min(100, int(percent))), "message": message[:500]}
    app = current_app_object()
    client = redis_connection(app) if app.config["JOBS_MODE_ACTIVE"] == "rq" else None
    if client is not None:
        try:
            client.set(_progress_key(record_id), json.dumps(value), ex=24 * 3600)
            return
        except redis.RedisError:
            log.warning("could not store progress of job record %s", record_id)
    _local_progress[record_id] = value


def job_live_progress(record: JobRecord) -> tuple[int, str]:
    """(progress, message) of a record: live values while it runs, stored ones after."""
    if record.is_final:
        return record.progress, record.message
    value = _local_progress.get(record.id)
    client = redis_connection() if current_app.config["JOBS_MODE_ACTIVE"] == "rq" else None
    if value is None and client is not None:
        try:
            raw = client.get(_progress_key(record.id))
        except redis.RedisError:
            raw = None
        value = json.loads(raw) if raw else None
    if value is None:
        return record.progress, record.message
    return value["progress"], value["message"]


def _progress_key(record_id: int) -> str:
    return f"racik:job-progress:{record_id}"


def execute_job(
    app: Flask,
    func_path: str,
    args: tuple | list,
    kwargs: dict[str, Any],
    record_id: int | None = None,
    job_id: str = "-",
    *,
    reraise: bool = True,
    request_id: str = "-",
) -> Any:
    """Run one job inside its own app context and commit once at its boundary.

    Marks the JobRecord started/finished/failed. Raises the job's exception after recording
    it (so RQ can retry and keep it in the failed registry) unless `reraise` is False, which
    the in-process runners use: the failure is logged and recorded either way.
    """
    token = current_log_id.set(request_id or "-")
    job_token = current_job_id.set(job_id)
    thread_id = threading.get_ident()
    try:
        with app.app_context():
            set_read_only_transactions(False)
            _mark(record_id, status=JobStatus.STARTED, started_at=utcnow(), error=None)
            if record_id is not None:
                _current_record_id[thread_id] = record_id
            try:
                func: Callable = import_string(func_path)
                result = func(*args, **kwargs)
                db.session.commit()
            except Exception as exc:
                db.session.rollback()
                _local_progress.pop(record_id or 0, None)
                log.exception("job %s failed", func_path)
                _count_outcome("failed")
                _mark(
                    record_id,
                    status=JobStatus.FAILED,
                    finished_at=utcnow(),
                    error="".join(traceback.format_exception_only(type(exc), exc))[-2000:],
                )
                if reraise:
                    raise
                return None
            finally:
                _current_record_id.pop(thread_id, None)
                db.session.remove()
            _local_progress.pop(record_id or 0, None)
            _count_outcome("finished")
            _mark(
                record_id,
                status=JobStatus.FINISHED,
                finished_at=utcnow(),
                progress=100,
                result=result if isinstance(result, dict) else None,
            )
            return result
    finally:
        current_log_id.reset(token)
        current_job_id.reset(job_token)


def _count_outcome(outcome: str) -> None:
    from rq import get_current_job

    from app.core.metrics import job_outcome_count

    job = get_current_job()
    try:
        job_outcome_count(job.origin if job is not None else "inprocess", outcome)
    except Exception:  # a metric never breaks a job
        log.debug("job outcome not counted", exc_info=True)


def _mark(record_id: int | None, **values: Any) -> None:
    if record_id is None:
        return
    with write_connection() as connection:
        connection.execute(update(JobRecord).where(JobRecord.id == record_id).values(**values))


def _dispatch(app: Flask, jobs: list[PendingJob]) -> None:
    mode = app.config["JOBS_MODE_ACTIVE"]
    for job in jobs:
        if mode == "rq" and _enqueue_rq(app, job):
            continue
        if mode == "sync":
            execute_job(app, job.func_path, job.args, job.kwargs, job.record_id, job.job_id,
                        reraise=False, request_id=job.request_id)
            continue
        pool = app.extensions.get("racik_jobs_pool")
        if pool is None:  # rq mode whose Redis just failed: keep the job in-process
            pool = app.extensions["racik_jobs_pool"] = ThreadPoolExecutor(
                max_workers=2, thread_name_prefix="racik-job"
            )
        pool.submit(execute_job, app, job.func_path, job.args, job.kwargs, job.record_id,
                    job.job_id, reraise=False, request_id=job.request_id)


def _enqueue_rq(app: Flask, job: PendingJob) -> bool:
    from rq import Queue, Retry

    try:
        queue = Queue(job.queue, connection=redis_connection(app))
        queue.enqueue(
            RUNNER,
            job.func_path,
            list(job.args),
            job.kwargs,
            job.record_id,
            job.job_id,
            job_id=job.job_id,
            description=job.func_path,
            job_timeout=job.timeout or app.config["JOBS_DEFAULT_TIMEOUT"],
            retry=Retry(max=job.retries, interval=list(RETRY_INTERVALS)) if job.retries else None,
            failure_ttl=7 * 24 * 3600,
            meta={"request_id": job.request_id},
        )
        return True
    except redis.RedisError:
        log.error("Redis refused job %s; running it in-process instead", job.func_path)
        return False


_hooks_installed = False


def _install_session_hooks() -> None:
    global _hooks_installed
    if _hooks_installed:
        return
    _hooks_installed = True

    def _after_commit(session: Session) -> None:
        jobs = session.info.pop(_PENDING_KEY, None)
        if not jobs:
            return
        app = current_app_object()
        if app.config["JOBS_MODE_ACTIVE"] == "sync":
            # Not yet: at `after_commit` the session still holds its pooled connection, and
            # a job opens its own. Many requests at once would each hold one connection while
            # waiting for a second (a pool deadlock). Run them at the transaction's end.
            session.info.setdefault(_SYNC_KEY, []).extend(jobs)
            return
        _dispatch(app, jobs)

    @event.listens_for(Session, "after_transaction_end")
    def _after_end(session: Session, transaction) -> None:
        # The outermost transaction's end comes after its connection went back to the pool.
        if transaction.parent is None and _SYNC_KEY in session.info:
            _dispatch(current_app_object(), session.info.pop(_SYNC_KEY))

    def _after_rollback(session: Session) -> None:
        dropped = session.info.pop(_PENDING_KEY, None)
        if dropped:
            log.info("transaction rolled back: %d job(s) not enqueued", len(dropped))

    after_outer_commit(_after_commit)
    after_outer_rollback(_after_rollback)
