"""The outbound webhook: HMAC-SHA256 signature over the raw body, delivered by a job to a
real local HTTP server, raising (so RQ retries) when the receiver fails."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from app.core.settings import setting_set
from app.crm.models import Lead, LeadStatus
from app.crm.webhooks import (
    SETTING_SECRET,
    SETTING_URL,
    WebhookDeliveryError,
    webhook_deliver,
    webhook_signature,
    webhook_verify,
)
from tests.live import serving_thread

SECRET = "rahasia-bersama-untuk-bot-0123456789"


def test_signature_verifies_with_the_shared_secret_only():
    body = b'{"event":"lead.created","lead":{"id":1}}'
    header = webhook_signature(SECRET, body)
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert webhook_verify(SECRET, body, header)
    assert not webhook_verify("rahasia-lain-yang-salah-0000000000", body, header)
    assert not webhook_verify(SECRET, body + b" ", header)  # any change to the body
    assert not webhook_verify(SECRET, body, None)
    assert not webhook_verify("", body, header)


class Receiver:
    """A local HTTP server that records what it receives and answers `status`."""

    def __init__(self, status: int = 200):
        self.requests: list[tuple[dict, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                receiver.requests.append((dict(self.headers), self.rfile.read(length)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = serving_thread(self.server)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def _configure(db, url: str) -> None:
    setting_set(key=SETTING_URL, value=url)
    setting_set(key=SETTING_SECRET, value=SECRET)
    db.session.commit()


def test_a_new_lead_is_posted_signed_to_the_webhook(client, db, login_as):
    with Receiver() as receiver:
        _configure(db, receiver.url)
        login_as("staff")
        response = client.post("/crm/prospek/baru", data={
            "title": "Lotion 2.000 pcs", "company_name": "PT Webhook", "source": "referral",
            "estimated_value": "25000000", "company_id": "", "owner_id": ""})
        assert response.status_code == 303
    assert len(receiver.requests) == 1  # sent by the job after commit (sync in tests)
    headers, body = receiver.requests[0]
    assert webhook_verify(SECRET, body, headers["X-Racik-Signature"])
    assert headers["X-Racik-Event"] == "lead.created"
    assert headers["X-Racik-Timestamp"].isdigit()
    payload = json.loads(body)
    assert payload["event"] == "lead.created"
    assert payload["lead"]["title"] == "Lotion 2.000 pcs"
    assert payload["lead"]["estimated_value"] == 25_000_000


def test_a_won_deal_is_posted(client, db, login_as):
    lead = Lead(title="Sabun", company_name="PT Menang", status=LeadStatus.PROPOSAL)
    db.session.add(lead)
    db.session.commit()
    with Receiver() as receiver:
        _configure(db, receiver.url)
        login_as("staff")
        client.post(f"/crm/prospek/{lead.id}/status", data={"status": "won"})
    ((_headers, body),) = receiver.requests
    assert json.loads(body)["event"] == "lead.won"
    assert json.loads(body)["lead"]["status"] == "won"


def test_a_failing_receiver_raises_so_the_job_is_retried(db):
    lead = Lead(title="Sabun", company_name="PT Gagal")
    db.session.add(lead)
    db.session.commit()
    with Receiver(status=500) as receiver:
        _configure(db, receiver.url)
        with pytest.raises(WebhookDeliveryError, match="HTTP 500"):
            webhook_deliver(event="lead.created", lead_id=lead.id)
    assert len(receiver.requests) == 1


def test_nothing_is_sent_without_a_configured_webhook(client, db, login_as):
    with Receiver() as receiver:
        login_as("staff")
        client.post("/crm/prospek/baru", data={"title": "Tanpa webhook", "company_name": "PT X",
                                               "source": "other", "company_id": "",
                                               "owner_id": ""})
    assert receiver.requests == []
