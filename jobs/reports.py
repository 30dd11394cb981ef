"""Report jobs: a large export of a filtered report (queue `reports`) and the weekly seller
sales report (thin: one service call, committed by the runner)."""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale

from app.core.queue import job_progress
from app.reports.exports import export_file, export_write
from app.reports.history import HISTORIES, HistoryFilters, history_described
from app.reports.tables import ReportFilters
from app.reports.weekly import weekly_reports_send


def export_report(kind: str, fmt: str, filters: dict, locale: str = "id") -> dict:
    """Write the export to storage, its headers and labels in `locale` (the admin's who
    asked); the result's `download` is the link the status partial shows once the job is
    finished."""
    job_progress(5)
    with force_locale(locale):
        written = export_write(kind, fmt, ReportFilters.from_json(filters))
    adapter = current_app.url_map.bind("", script_name="/")
    written["download"] = adapter.build("reports.export_download", {"key": written["key"]})
    return written


def export_history(kind: str, fmt: str, filters: dict, locale: str = "id") -> dict:
    """A large export of a client's or seller's own history (`kind`: a key of HISTORIES;
    `filters` carry the owner, set from the login when it was asked); the result's
    `download` is the owner's link (`reports.history_download`)."""
    job_progress(5)
    report, chosen = HISTORIES[kind], HistoryFilters.from_json(filters)
    with force_locale(locale):
        written = export_file(report, fmt, chosen, history_described(chosen))
    adapter = current_app.url_map.bind("", script_name="/")
    written["download"] = adapter.build("reports.history_download", {"key": written["key"]})
    return written


def weekly(week: str | None = None) -> dict:
    """Cron, Monday 09:00 WIB: last week's report to every active seller (idempotent per
    store and week)."""
    return weekly_reports_send(week=week)
