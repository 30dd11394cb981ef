"""CRM jobs: the daily task digest and webhook deliveries (thin: ids in, service call)."""

from __future__ import annotations

from app.crm.services import task_digest_send
from app.crm.webhooks import webhook_deliver as _webhook_deliver


def task_digest() -> dict:
    """Cron, 07:00 WIB: one digest email per person with due or overdue tasks (idempotent
    per WIB date)."""
    return task_digest_send()


def webhook_deliver(event: str, lead_id: int) -> dict:
    """POST one signed event; raises on failure so RQ retries with back-off."""
    return _webhook_deliver(event=event, lead_id=lead_id)
