"""The outbox: mail is written in the transaction, sent by a job through a real SMTP server,
and survives an SMTP outage. Every message carries an RFC 5322 `Date` and a `Message-ID` on
our own domain, the same on every attempt of one outbox row (read back from the real .eml
file and from what a real SMTP server received)."""

from __future__ import annotations

import re
import socket
from datetime import timedelta
from email import message_from_bytes, policy
from email.parser import BytesParser

import pytest
from aiosmtpd.controller import Controller
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.clock import utcnow
from app.core.mail import mail_queue, outbox_send, outbox_sweep
from app.core.models import EmailOutbox, OutboxStatus
from tests.factories import make_user
from tests.live import LiveBrowser


class Inbox:
    """aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp_port(app, monkeypatch) -> int:
    port = _free_port()
    monkeypatch.setitem(app.config, "MAIL_BACKEND", "smtp")
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    monkeypatch.setitem(app.config, "MAIL_TIMEOUT", 2)
    return port


def _start_smtp(port: int) -> tuple[Controller, Inbox]:
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, inbox


def _queue_welcome(db, to="rina@example.test") -> EmailOutbox:
    row = mail_queue(to=to, template="welcome", subject="Selamat datang di Racik",
                     user_name="Rina", is_seller=False)
    db.session.commit()
    return db.session.get(EmailOutbox, row.id)


def test_email_is_delivered_through_smtp_with_html_and_text(db, smtp_port):
    controller, inbox = _start_smtp(smtp_port)
    try:
        row = _queue_welcome(db)
    finally:
        controller.stop()
    db.session.refresh(row)
    assert row.status == OutboxStatus.SENT and row.attempts == 1
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "rina@example.test"
    assert message["Subject"] == "Selamat datang di Racik"
    types = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html"} <= types


def test_email_survives_an_smtp_outage_and_is_sent_when_the_server_returns(db, smtp_port):
    row = _queue_welcome(db)  # nobody listens on the port: the job fails
    db.session.refresh(row)
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 1 and "Connection" in row.last_error
    assert row.next_attempt_at > utcnow()

    assert outbox_sweep() == {"sent": 0, "failed": 0}  # not due yet: back-off respected

    row.next_attempt_at = utcnow()  # time passes
    db.session.commit()
    controller, inbox = _start_smtp(smtp_port)
    try:
        assert outbox_sweep() == {"sent": 1, "failed": 0}
    finally:
        controller.stop()
    db.session.refresh(row)
    assert row.status == OutboxStatus.SENT and row.attempts == 2 and row.last_error is None
    assert len(inbox.messages) == 1
    assert outbox_sweep() == {"sent": 0, "failed": 0}  # never sent twice


def test_a_row_being_sent_elsewhere_is_not_sent_again(db, smtp_port):
    row = _queue_welcome(db)
    row.status = OutboxStatus.SENDING
    row.claimed_at = utcnow()
    db.session.commit()
    controller, inbox = _start_smtp(smtp_port)
    try:
        assert outbox_send(row.id) is False
        assert outbox_sweep() == {"sent": 0, "failed": 0}
    finally:
        controller.stop()
    assert inbox.messages == []


def test_gives_up_after_max_attempts_but_keeps_the_row(db, smtp_port, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 2)
    row = _queue_welcome(db)
    row.next_attempt_at = utcnow()
    db.session.commit()
    with pytest.raises(OSError):
        outbox_send(row.id)
    db.session.refresh(row)
    assert row.status == OutboxStatus.FAILED and row.attempts == 2
    assert db.session.scalars(select(EmailOutbox)).all() == [row]


def test_admin_can_resend_a_failed_email(client, db, smtp_port, login_as):
    row = _queue_welcome(db)
    row.status = OutboxStatus.FAILED
    db.session.commit()
    login_as("admin")
    controller, inbox = _start_smtp(smtp_port)
    try:
        response = client.post(f"/admin/email/{row.id}/kirim-ulang")
    finally:
        controller.stop()
    assert response.status_code == 303
    db.session.refresh(row)
    assert row.status == OutboxStatus.SENT
    assert [m["To"] for m in inbox.messages] == ["rina@example.test"]
    page = client.get("/admin/email?status=sent").get_data(as_text=True)
    assert "rina@example.test" in page


def test_email_is_rendered_in_the_recipients_language(db):
    row = mail_queue(to="en@example.test", template="welcome",
                     subject=_l("Selamat datang di Racik"),
                     locale="en", user_name="Ann", is_seller=False)
    db.session.commit()
    assert row.body_text.startswith("Hello Ann,")
    assert row.subject == "Welcome to Racik"


SENDER = "Racik Maklon <halo@kirim.racik-maklon.example>"
OUR_MESSAGE_ID = re.compile(r"^<[^<>@\s]+@kirim\.racik-maklon\.example>$")


def _assert_dated_now(message) -> None:
    """`Date` is there once, parses as RFC 5322 (aware) and is the time of sending."""
    assert len(message.get_all("Date") or []) == 1, message.keys()
    sent = message["Date"].datetime
    assert sent.tzinfo is not None
    assert abs(utcnow() - sent) < timedelta(minutes=2), message["Date"]


def test_eml_written_for_a_web_request_has_a_date_and_a_message_id_on_our_domain(
        app, db, live_url, mail_dir, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_DEFAULT_SENDER", SENDER)
    emails = [make_user().email, make_user().email]
    db.session.commit()
    browser = LiveBrowser(live_url)
    for email in emails:  # "forgot password" over real HTTP: the file backend writes .eml
        response = browser.post_form("/lupa-kata-sandi", {"email": email})
        assert response.status == 303, response.text()[:300]
    rows = db.session.scalars(select(EmailOutbox).where(
        EmailOutbox.template == "password_reset").order_by(EmailOutbox.id)).all()
    assert [row.to_address for row in rows] == emails
    assert all(row.status == OutboxStatus.SENT for row in rows)
    parsed = [BytesParser(policy=policy.default).parsebytes(
        (mail_dir / f"{row.id:08d}-password_reset.eml").read_bytes()) for row in rows]
    for row, message in zip(rows, parsed, strict=True):
        _assert_dated_now(message)
        assert OUR_MESSAGE_ID.match(message["Message-ID"]), message["Message-ID"]
        assert message["Message-ID"] == row.message_id
    assert parsed[0]["Message-ID"] != parsed[1]["Message-ID"]


class FlakyInbox:
    """aiosmtpd handler that takes in every message but answers the first DATA with a
    temporary failure (451), as a server that stored it and then lost the connection
    would look to us: the outbox retries the same row."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(BytesParser(policy=policy.default).parsebytes(envelope.content))
        return "451 4.3.0 try again later" if len(self.messages) == 1 else "250 OK"


def test_smtp_message_has_a_date_and_the_same_message_id_on_retry(app, db, smtp_port,
                                                                  monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_DEFAULT_SENDER", SENDER)
    inbox = FlakyInbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    try:
        row = _queue_welcome(db)  # the job sends at once: the server answers 451
        db.session.refresh(row)
        assert row.status == OutboxStatus.PENDING and "451" in row.last_error
        row.next_attempt_at = utcnow()
        db.session.commit()
        assert outbox_sweep() == {"sent": 1, "failed": 0}  # the retry
        other = _queue_welcome(db, to="budi@example.test")
    finally:
        controller.stop()
    db.session.refresh(row)
    db.session.refresh(other)
    assert row.status == OutboxStatus.SENT and row.attempts == 2
    first, retry, second = inbox.messages
    for message in inbox.messages:
        _assert_dated_now(message)
        assert OUR_MESSAGE_ID.match(message["Message-ID"]), message["Message-ID"]
    assert first["Message-ID"] == retry["Message-ID"] == row.message_id
    assert second["Message-ID"] == other.message_id != row.message_id
    assert second["To"] == "budi@example.test"
