"""Audit log jobs (thin: one service call; raise on failure so the run rolls back)."""

from __future__ import annotations

from app.audit.archive import audit_archive


def archive(older_than_days: int | None = None) -> dict:
    """Cron, daily: audit rows older than AUDIT_RETENTION_DAYS go to an archive file."""
    return audit_archive(older_than_days=older_than_days)
