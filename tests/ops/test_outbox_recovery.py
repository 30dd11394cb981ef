"""An email claimed by a job whose worker died is sent by that job's re-run at once, and
by the sweep once the claim is stale; never by two senders at the same time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import redis
from flask import current_app
from rq import Queue, SimpleWorker
from sqlalchemy import select

from app.core.clock import utcnow
from app.core.mail import outbox_sweep
from app.core.models import EmailOutbox, OutboxStatus
from jobs.cron import CRON_TABLE


def _claimed_row(db, claimed_by: str, age: timedelta) -> int:
    row = EmailOutbox(to_address="buyer@racik.test", subject="Pesanan", body_text="t",
                      body_html="<p>t</p>", template="test", message_id="<x@racik.test>",
                      status=OutboxStatus.SENDING, claimed_by=claimed_by,
                      claimed_at=utcnow() - age)
    db.session.add(row)
    db.session.flush()
    row_id = row.id
    # Row ids come back after the suite empties the tables: forget an older test's file.
    (Path(current_app.instance_path) / "mail" / f"{row_id:08d}-test.eml").unlink(missing_ok=True)
    db.session.commit()
    db.session.close()  # no SQLite transaction held while the job writes
    return row_id


@pytest.mark.redis
def test_the_rerun_of_the_job_that_claimed_an_email_sends_it_at_once(
        app, db, redis_url, monkeypatch, mail_dir):
    monkeypatch.setattr("jobs.runner._app", app)
    connection = redis.Redis.from_url(redis_url)
    queue = Queue("email", connection=connection)
    mine = _claimed_row(db, "rq:racik-rerun-0001", timedelta(seconds=1))
    theirs = _claimed_row(db, "rq:racik-someone-else", timedelta(seconds=1))
    for outbox_id, job_id in ((mine, "racik-rerun-0001"), (theirs, "racik-other-0002")):
        queue.enqueue("jobs.runner.run", "jobs.mail.send_email", [outbox_id], {}, None, job_id,
                      job_id=job_id)
    SimpleWorker([queue], connection=connection).work(burst=True)
    db.session.expire_all()
    statuses = dict(db.session.execute(select(EmailOutbox.id, EmailOutbox.status)).all())
    assert statuses == {mine: OutboxStatus.SENT, theirs: OutboxStatus.SENDING}
    assert (mail_dir / f"{mine:08d}-test.eml").exists()
    assert not (mail_dir / f"{theirs:08d}-test.eml").exists()


def test_the_sweep_sends_an_email_whose_claim_went_stale_and_leaves_a_fresh_one(
        app, db, mail_dir):
    stale_after = app.config["OUTBOX_STALE_CLAIM_SECONDS"]
    stale = _claimed_row(db, "rq:dead", timedelta(seconds=stale_after + 5))
    fresh = _claimed_row(db, "rq:alive", timedelta(seconds=1))
    assert outbox_sweep() == {"sent": 1, "failed": 0}
    assert (mail_dir / f"{stale:08d}-test.eml").exists()
    db.session.expire_all()
    assert db.session.get(EmailOutbox, stale).status == OutboxStatus.SENT
    assert db.session.get(EmailOutbox, fresh).status == OutboxStatus.SENDING


def test_a_dead_senders_email_goes_within_a_minute_and_a_half_at_worst(app):
    """Stale window + sweep interval: how late an email whose sender died (outside RQ's
    re-run) can be."""
    sweep = next(entry for entry in CRON_TABLE if entry.func_path == "jobs.mail.sweep")
    assert sweep.interval + app.config["OUTBOX_STALE_CLAIM_SECONDS"] <= 90
    assert app.config["OUTBOX_STALE_CLAIM_SECONDS"] >= 3 * app.config["MAIL_TIMEOUT"]


