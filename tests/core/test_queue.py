"""Jobs run only after commit, are tracked by JobRecord, and run on a real RQ worker."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.core.models import JobRecord, JobStatus
from app.core.queue import enqueue_after_commit
from tests.conftest import log_in
from tests.factories import make_user
from tests.jobs_fixtures import CALLS


@pytest.fixture(autouse=True)
def _reset_calls():
    CALLS.clear()
    yield
    CALLS.clear()


def test_job_enqueued_in_a_rolled_back_transaction_never_runs(db):
    record = enqueue_after_commit("tests.jobs_fixtures.record_call", "rollback", track=True)
    assert record is not None
    db.session.rollback()
    db.session.commit()  # a later commit must not resurrect the dropped job
    assert CALLS == []
    assert db.session.scalars(select(JobRecord)).all() == []


def test_job_runs_after_commit_and_is_recorded(db):
    record = enqueue_after_commit("tests.jobs_fixtures.record_call", "ok", track=True,
                                  description="uji")
    assert CALLS == []  # not before the commit
    db.session.commit()
    assert CALLS == [("record_call", "ok")]
    stored = db.session.get(JobRecord, record.id)
    db.session.refresh(stored)
    assert stored.status == JobStatus.FINISHED
    assert stored.progress == 100
    assert stored.result == {"value": "ok"}
    assert stored.started_at <= stored.finished_at


def test_failed_job_is_recorded_as_failed_and_does_not_break_the_caller(db):
    record = enqueue_after_commit("tests.jobs_fixtures.explode", "x", track=True)
    db.session.commit()  # no exception reaches the caller in-process
    stored = db.session.get(JobRecord, record.id)
    db.session.refresh(stored)
    assert stored.status == JobStatus.FAILED
    assert "RuntimeError: boom" in stored.error


def test_unknown_queue_is_refused(db):
    with pytest.raises(ValueError):
        enqueue_after_commit("tests.jobs_fixtures.record_call", "x", queue="nope")


def _job_for(db, owner, status=JobStatus.STARTED) -> JobRecord:
    record = JobRecord(job_id=f"status-{owner.id}-{status}", name="x", owner_id=owner.id,
                       status=status, progress=30)
    db.session.add(record)
    db.session.commit()
    return record


def test_status_partial_polls_until_final_then_answers_286(client, db):
    owner = make_user()
    record = _job_for(db, owner)
    log_in(client, owner.email)
    running = client.get(f"/pekerjaan/{record.id}/status", headers={"HX-Request": "true"})
    assert running.status_code == 200
    html = running.get_data(as_text=True)
    assert 'hx-trigger="every 2s"' in html and 'value="30"' in html
    record = db.session.get(JobRecord, record.id)
    record.status = JobStatus.FINISHED
    record.progress = 100
    db.session.commit()
    done = client.get(f"/pekerjaan/{record.id}/status", headers={"HX-Request": "true"})
    assert done.status_code == 286
    assert "hx-trigger" not in done.get_data(as_text=True)
    # Without htmx (a plain reload) a finished job is an ordinary 200 page fragment.
    assert client.get(f"/pekerjaan/{record.id}/status").status_code == 200


def test_status_of_someone_elses_job_is_404(client, db):
    owner = make_user()
    record = _job_for(db, owner)
    intruder = make_user()
    db.session.commit()
    log_in(client, intruder.email)
    assert client.get(f"/pekerjaan/{record.id}/status").status_code == 404


def test_admin_test_email_job_runs_and_shows_its_status(client, db, mail_dir):
    admin = make_user(roles=("admin",))
    db.session.commit()
    log_in(client, admin.email)
    assert client.post("/admin/pekerjaan/uji-email").status_code == 303
    record = db.session.scalars(select(JobRecord)).one()
    assert record.status == JobStatus.FINISHED and record.owner_id == admin.id
    assert "badge-finished" in client.get("/admin/pekerjaan").get_data(as_text=True)
    assert any(p.name.endswith("-test.eml") for p in mail_dir.iterdir())


@pytest.mark.redis
def test_job_runs_on_a_real_rq_worker_after_commit(app, db, redis_url, monkeypatch):
    """RQ mode end to end: enqueue after commit into real Redis, run with an RQ worker."""
    import redis
    from rq import Queue, SimpleWorker

    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "JOBS_MODE_ACTIVE", "rq")
    monkeypatch.delitem(app.extensions, "racik_redis", raising=False)
    monkeypatch.setattr("jobs.runner._app", app)
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("default", connection=connection)

    rolled_back = enqueue_after_commit("tests.jobs_fixtures.record_call", "no", track=True)
    assert rolled_back is not None
    db.session.rollback()
    assert queue.count == 0

    record = enqueue_after_commit("tests.jobs_fixtures.record_call", "rq", track=True)
    db.session.commit()
    assert queue.count == 1 and CALLS == []
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert CALLS == [("record_call", "rq")]
    stored = db.session.get(JobRecord, record.id)
    db.session.refresh(stored)
    assert stored.status == JobStatus.FINISHED and stored.result == {"value": "rq"}
    app.extensions.pop("racik_redis", None)


@pytest.mark.redis
def test_rq_cron_scheduler_registers_the_cron_table(redis_url):
    import redis

    from jobs.cron import CRON_TABLE, build_rq_scheduler

    scheduler = build_rq_scheduler(redis.Redis.from_url(redis_url))
    registered = {job.name for job in scheduler.get_jobs()}
    assert registered == {entry.func_path for entry in CRON_TABLE}
    assert "jobs.mail.sweep" in registered


def test_thread_mode_runs_the_job_in_the_background_after_commit(app, db, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(max_workers=1)
    monkeypatch.setitem(app.config, "JOBS_MODE_ACTIVE", "thread")
    monkeypatch.setitem(app.extensions, "racik_jobs_pool", pool)
    record = enqueue_after_commit("tests.jobs_fixtures.record_call", "thread", track=True)
    db.session.commit()
    pool.shutdown(wait=True)  # wait for the background thread to finish the job
    assert CALLS == [("record_call", "thread")]
    stored = db.session.get(JobRecord, record.id)
    db.session.refresh(stored)
    assert stored.status == JobStatus.FINISHED


def test_in_process_cron_runs_due_entries_until_stopped(app):
    import threading
    import time

    from jobs.cron import CronEntry, start_in_process

    stop = threading.Event()
    table = [CronEntry("tests.jobs_fixtures.tick", "default", interval=0)]
    thread = start_in_process(app, stop, tick=0.05, table=table)
    deadline = time.time() + 5
    while time.time() < deadline and len(CALLS) < 2:
        time.sleep(0.05)
    stop.set()
    thread.join(timeout=2)
    assert not thread.is_alive()
    assert CALLS[:2] == [("tick",), ("tick",)]


def test_cron_expressions_are_in_utc():
    from jobs.cron import CronEntry, next_run

    monday_9_wib = CronEntry("x", "reports", cron="0 2 * * 1")
    after = datetime(2026, 11, 22, 12, 0, tzinfo=UTC).timestamp()  # a Sunday
    assert datetime.fromtimestamp(next_run(monday_9_wib, after), UTC) == datetime(
        2026, 11, 23, 2, 0, tzinfo=UTC)
