"""Notification jobs: send one Telegram message, sweep the Telegram outbox, register the
webhook, and the daily "due tomorrow" task notices (thin: ids in, service call)."""

from __future__ import annotations

from app.crm.events import task_due_notices_send
from app.notifications.telegram import telegram_send as _telegram_send
from app.notifications.telegram import telegram_sweep as _telegram_sweep
from app.notifications.telegram import telegram_webhook_register as _webhook_register


def telegram_send(message_id: int) -> dict:
    """Send one queued message; raises on a 5xx or no answer so RQ retries."""
    return _telegram_send(message_id)


def telegram_sweep() -> dict:
    """Cron, every minute: messages due again (back-off, a long 429) or whose sender died."""
    return _telegram_sweep()


def telegram_webhook_register(url: str) -> dict:
    return _webhook_register(url=url)


def task_due_notices() -> dict:
    """Cron, 16:00 WIB: each active task due tomorrow, to its assignee (once per task and
    due date)."""
    return task_due_notices_send()
