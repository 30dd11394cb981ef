"""Outbound webhook: tell an external system (a chat bot...) about new leads and won deals.

Format: `POST <crm.webhook_url>` with a JSON body

    {"event": "lead.created" | "lead.won", "sent_at": "<UTC ISO 8601>", "lead": {...}}

and the headers `X-Racik-Event`, `X-Racik-Timestamp` (Unix seconds, also inside the body as
`sent_at`) and `X-Racik-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`. The
receiver recomputes the HMAC over the exact bytes it received (`webhook_verify`).

The request is sent by an RQ job enqueued after commit; a non-2xx answer or a network error
raises, so RQ retries with back-off.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from typing import Any

from app.core.clock import utcnow
from app.core.queue import enqueue_after_commit
from app.core.settings import setting_get
from app.extensions import db

log = logging.getLogger(__name__)

SETTING_URL = "crm.webhook_url"
SETTING_SECRET = "crm.webhook_secret"  # noqa: S105 - a settings key, not a secret
SIGNATURE_HEADER = "X-Racik-Signature"
TIMESTAMP_HEADER = "X-Racik-Timestamp"
EVENT_HEADER = "X-Racik-Event"
EVENTS = ("lead.created", "lead.won")
TIMEOUT_SECONDS = 10
RETRIES = 5


class WebhookDeliveryError(RuntimeError):
    """The receiver did not accept the delivery (RQ retries the job)."""


def webhook_signature(secret: str, body: bytes) -> str:
    """The signature header value for `body`: `sha256=<hex digest>`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def webhook_verify(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is the signature of `body` under `secret` (constant time)."""
    if not secret or not header:
        return False
    return hmac.compare_digest(webhook_signature(secret, body), header.strip())


def webhook_configured() -> bool:
    return bool(setting_get(SETTING_URL, "")) and bool(setting_get(SETTING_SECRET, ""))


def webhook_notify(*, event: str, lead_id: int) -> bool:
    """Enqueue the delivery of `event` for a lead, after commit, if a webhook is set."""
    if event not in EVENTS:
        raise ValueError(f"unknown webhook event {event!r}")
    if not webhook_configured():
        return False
    enqueue_after_commit("jobs.crm.webhook_deliver", event, lead_id, retries=RETRIES,
                         timeout=60)
    return True


def lead_payload(lead) -> dict[str, Any]:
    return {
        "id": lead.id,
        "title": lead.title,
        "status": lead.status,
        "source": lead.source,
        "estimated_value": lead.estimated_value,
        "currency": "IDR",
        "company": lead.display_company,
        "company_id": lead.company_id,
        "contact_name": lead.contact.name if lead.contact else lead.contact_name,
        "owner": lead.owner.name if lead.owner else None,
        "created_at": lead.created_at.isoformat(),
    }


def webhook_deliver(*, event: str, lead_id: int) -> dict[str, Any]:
    """Build, sign and POST one event. Raises WebhookDeliveryError on failure.

    Returns what happened (for the job record). A lead deleted meanwhile or a webhook
    switched off meanwhile is skipped, not retried."""
    from app.crm.models import Lead

    url = setting_get(SETTING_URL, "")
    secret = setting_get(SETTING_SECRET, "")
    lead = db.session.get(Lead, lead_id)
    if not url or not secret or lead is None:
        return {"skipped": True}
    now = utcnow()
    body = json.dumps(
        {"event": event, "sent_at": now.isoformat(), "lead": lead_payload(lead)},
        ensure_ascii=False, separators=(",", ":"),
    ).encode()
    request = urllib.request.Request(  # noqa: S310 - URL scheme is checked on save
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Racik-Webhook/1",
            EVENT_HEADER: event,
            TIMESTAMP_HEADER: str(int(time.time())),
            SIGNATURE_HEADER: webhook_signature(secret, body),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as error:
        raise WebhookDeliveryError(f"webhook answered HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        raise WebhookDeliveryError(f"webhook unreachable: {error}") from None
    log.info("webhook %s for lead %s delivered (HTTP %s)", event, lead_id, status)
    return {"status": status, "event": event}
