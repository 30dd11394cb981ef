"""Jobs wait for the real commit, not for a SAVEPOINT released inside the transaction."""

from __future__ import annotations

from sqlalchemy import select

from app.core.models import JobRecord
from app.core.queue import enqueue_after_commit
from tests.factories import make_user


def test_releasing_a_savepoint_does_not_dispatch_pending_jobs(db):
    owner = make_user()
    record = enqueue_after_commit("jobs.mail.sweep", track=True, owner_id=owner.id)
    with db.session.begin_nested():  # e.g. an insert guarded against a unique violation
        make_user()
    assert db.session.get(JobRecord, record.id).status == "queued"  # not run yet
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalars(select(JobRecord.status)).one() == "finished"
