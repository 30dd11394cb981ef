"""The outbox: mail is written in the transaction, sent by a job through a real SMTP server,
and survives an SMTP outage."""

from __future__ import annotations

import socket
from email import message_from_bytes

import pytest
from aiosmtpd.controller import Controller
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.core.clock import utcnow
from app.core.mail import mail_queue, outbox_send, outbox_sweep
from app.core.models import EmailOutbox, OutboxStatus


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
