"""Email through an outbox: written in the business transaction, sent by a job.

`mail_queue(...)` renders the HTML and text templates in the recipient's language, adds an
`EmailOutbox` row to the current transaction and enqueues `jobs.mail.send_email` after
commit. `outbox_send(id)` claims the row with a conditional UPDATE (so a retry and the
sweep never send the same row twice at once), sends it and records the outcome; a failure
leaves the row pending with an exponential back-off, and `outbox_sweep()` (cron) picks up
whatever is due — a dead Redis or SMTP server delays mail but never loses it.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
import uuid
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, g, has_request_context, render_template
from flask_babel import force_locale
from sqlalchemy import or_, select, update

from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.models import EmailOutbox, OutboxStatus
from app.core.queue import enqueue_after_commit
from app.core.storage import storage_read
from app.extensions import db

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (60, 300, 900, 3600, 3 * 3600, 6 * 3600)
SEND_TIMEOUT = 120  # seconds: a send is a few SMTP round trips of MAIL_TIMEOUT each


def _stale_claim() -> timedelta:
    """A claim older than this belongs to a sender that died (OUTBOX_STALE_CLAIM_SECONDS)."""
    return timedelta(seconds=current_app.config["OUTBOX_STALE_CLAIM_SECONDS"])


def _claimant() -> str:
    """The RQ job running this (the same id when RQ re-runs it), else a one-off token."""
    from rq import get_current_job

    job = get_current_job()
    return f"rq:{job.id}"[:80] if job is not None else f"once:{uuid.uuid4().hex}"


def _render_bodies(template: str, context: dict[str, Any]) -> tuple[str, str]:
    """The HTML and text bodies; inside a request the page context (menus, unread count)
    is skipped, an email shows none of it."""
    flagged = has_request_context()
    if flagged:
        previous = g.get("racik_email")
        g.racik_email = True
    try:
        return (render_template(f"email/{template}.html", **context),
                render_template(f"email/{template}.txt", **context))
    finally:
        if flagged:
            g.racik_email = previous


def mail_queue(
    *, to: str, template: str, subject: str, locale: str = "id",
    attachments: list[dict[str, str]] | None = None, **context: Any
) -> EmailOutbox:
    """Write an email to the outbox in the current transaction; it is sent after commit.

    `template` names `email/<template>.html` and `email/<template>.txt`; `subject` is a
    lazy-translatable string rendered in `locale` like the bodies. `attachments` are stored
    files (`{"key": storage key, "filename": ..., "content_type": ...}`), read when the
    email is sent, so the outbox row stays small.
    """
    with force_locale(locale):
        # One line: a subject may carry user text (a CRM email's subject), and a line break
        # in a header is refused when the message is built (the email would never go).
        subject_text = " ".join(str(subject).split())
        context = {**context, "subject": subject_text}
        html, text = _render_bodies(template, context)
    row = EmailOutbox(
        to_address=to,
        subject=subject_text,
        body_html=html,
        body_text=text,
        template=template,
        message_id="",  # needs the row's id: set below
        attachments=[{"key": a["key"], "filename": a["filename"],
                      "content_type": a.get("content_type", "application/octet-stream")}
                     for a in attachments or ()],
    )
    db.session.add(row)
    db.session.flush()
    row.message_id = outbox_message_id(row.id)
    db.session.flush()
    enqueue_after_commit("jobs.mail.send_email", row.id, queue="email", retries=5,
                         timeout=SEND_TIMEOUT)
    return row


def mail_domain() -> str:
    """The domain our Message-IDs are on: the sender address's (MAIL_DEFAULT_SENDER), else
    the host of PUBLIC_BASE_URL. Never the recipient's: a Message-ID names its author."""
    config = current_app.config
    address = parseaddr(str(config.get("MAIL_DEFAULT_SENDER") or ""))[1]
    domain = address.rpartition("@")[2].strip().lower()
    if not domain:
        domain = (urlsplit(str(config.get("PUBLIC_BASE_URL") or "")).hostname or "").lower()
    return domain or "racik.local"


def outbox_message_id(outbox_id: int, unique: str | None = None) -> str:
    """A Message-ID for outbox row `outbox_id`, on `mail_domain()`: the row's id and a
    unique part (random by default: ids restart when a database is rebuilt, a Message-ID
    must not). It is stored on the row, so every attempt to send the row carries the same
    one and a receiver sees a retry as the same message, not a new one."""
    return f"<racik.outbox.{outbox_id}.{unique or secrets.token_hex(8)}@{mail_domain()}>"


def outbox_send(outbox_id: int) -> bool:
    """Send one outbox row if it is due and nobody else is sending it.

    Returns True when this call delivered it. Raises the transport error after recording
    it, so an RQ retry follows; the row stays pending for the sweep either way.
    """
    now = utcnow()
    claimant = _claimant()
    claimed = rowcount(db.session.execute(
        update(EmailOutbox)
        .where(
            EmailOutbox.id == outbox_id,
            or_(
                EmailOutbox.status == OutboxStatus.PENDING,
                (EmailOutbox.status == OutboxStatus.SENDING)
                & or_(EmailOutbox.claimed_at < now - _stale_claim(),
                      # This very job claimed it before its worker died (RQ re-runs a job
                      # only once its worker's heartbeat stopped).
                      EmailOutbox.claimed_by == claimant),
            ),
        )
        .values(status=OutboxStatus.SENDING, claimed_at=now, claimed_by=claimant)
        .execution_options(synchronize_session=False)
    ))
    db.session.commit()  # the claim must be visible before the slow network call
    if not claimed:
        return False
    row = db.session.get(EmailOutbox, outbox_id)
    assert row is not None
    try:
        _deliver(row)
    except Exception as exc:
        row.attempts += 1
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            row.status = OutboxStatus.FAILED
        else:
            row.status = OutboxStatus.PENDING
            delay = BACKOFF_SECONDS[min(row.attempts - 1, len(BACKOFF_SECONDS) - 1)]
            row.next_attempt_at = utcnow() + timedelta(seconds=delay)
        row.claimed_at = None
        row.claimed_by = None
        db.session.commit()
        log.warning("email %s to outbox row %s failed (attempt %s)", row.template, row.id,
                    row.attempts)
        raise
    row.attempts += 1
    row.status = OutboxStatus.SENT
    row.sent_at = utcnow()
    row.claimed_at = None
    row.claimed_by = None
    row.last_error = None
    db.session.commit()
    log.info("email %s sent (outbox row %s)", row.template, row.id)
    return True


def outbox_sweep(*, limit: int = 200) -> dict[str, int]:
    """Send every pending row that is due (and re-claim rows stuck in `sending`).

    Used by cron; also `flask mail sweep`. Returns counts of sent and failed attempts.
    """
    now = utcnow()
    ids = db.session.scalars(
        select(EmailOutbox.id)
        .where(
            or_(
                (EmailOutbox.status == OutboxStatus.PENDING)
                & (EmailOutbox.next_attempt_at <= now),
                (EmailOutbox.status == OutboxStatus.SENDING)
                & (EmailOutbox.claimed_at < now - _stale_claim()),
            )
        )
        .order_by(EmailOutbox.id)
        .limit(limit)
    ).all()
    db.session.commit()
    sent = failed = 0
    for outbox_id in ids:
        try:
            if outbox_send(outbox_id):
                sent += 1
        except Exception:  # recorded on the row; the next sweep tries again
            failed += 1
    return {"sent": sent, "failed": failed}


def outbox_retry(*, outbox: EmailOutbox) -> None:
    """Put a failed (or pending) row back to be sent now; sent rows are left alone."""
    if outbox.status == OutboxStatus.SENT:
        return
    outbox.status = OutboxStatus.PENDING
    outbox.next_attempt_at = utcnow()
    outbox.claimed_at = None
    outbox.claimed_by = None
    db.session.flush()
    enqueue_after_commit("jobs.mail.send_email", outbox.id, queue="email", retries=5,
                         timeout=SEND_TIMEOUT)


def build_message(row: EmailOutbox) -> EmailMessage:
    """The message of an outbox row as it goes out now. `Date` (RFC 5322 requires it) is
    the time of this attempt, when the message enters the mail system; `Message-ID` is the
    row's own, the same on every attempt."""
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = row.to_address
    message["Subject"] = row.subject
    message["Date"] = format_datetime(utcnow())
    # A row always has one; should it not, derive it from the row alone (stable on retry).
    message["Message-ID"] = row.message_id or outbox_message_id(
        row.id, f"{row.created_at:%Y%m%d%H%M%S}")
    message.set_content(row.body_text)
    message.add_alternative(row.body_html, subtype="html")
    for attachment in row.attachments or ():
        # A missing file raises: the row stays pending and is retried, never sent without it.
        data = storage_read(attachment["key"])
        maintype, _, subtype = attachment.get(
            "content_type", "application/octet-stream").partition("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream",
                               filename=attachment["filename"])
    return message


def _deliver(row: EmailOutbox) -> None:
    config = current_app.config
    message = build_message(row)
    backend = config["MAIL_BACKEND"]
    if backend == "file":
        folder = Path(current_app.instance_path) / "mail"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{row.id:08d}-{row.template}.eml").write_bytes(message.as_bytes())
        return
    if backend != "smtp":
        raise RuntimeError(f"unknown MAIL_BACKEND {backend!r}")
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_class(config["MAIL_SERVER"], config["MAIL_PORT"],
                    timeout=config["MAIL_TIMEOUT"]) as smtp:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        smtp.send_message(message)
