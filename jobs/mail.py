"""Mail jobs: send one outbox row, sweep the outbox, send an admin's test email."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from app.core.mail import mail_queue, outbox_send, outbox_sweep
from app.core.queue import job_progress
from app.extensions import db


def send_email(outbox_id: int) -> dict:
    return {"sent": outbox_send(outbox_id)}


def sweep() -> dict:
    return outbox_sweep()


def send_test_email(user_id: int) -> dict:
    from app.accounts.models import User

    user = db.session.get(User, user_id)
    if user is None:
        raise LookupError(f"user {user_id} does not exist")
    job_progress(50)
    mail_queue(to=user.email, template="test", subject=_l("Email uji dari Racik"),
               locale=user.locale, user_name=user.name)
    return {"to": user.email}
