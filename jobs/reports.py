"""Report jobs: the weekly seller sales report (thin: one service call, committed by the
runner)."""

from __future__ import annotations

from app.reports.weekly import weekly_reports_send


def weekly(week: str | None = None) -> dict:
    """Cron, Monday 09:00 WIB: last week's report to every active seller (idempotent per
    store and week)."""
    return weekly_reports_send(week=week)
