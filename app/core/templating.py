"""Jinja filters and globals: money, WIB dates, navigation by role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Flask, g, has_request_context, request, url_for
from flask_babel import format_date, format_time, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.core.clock import to_wib
from app.core.money import format_rupiah
from app.core.queue import job_live_progress


@dataclass(frozen=True)
class NavItem:
    label: object  # lazy string
    endpoint: str
    roles: frozenset[str] | None  # None: everybody logged in

    def visible_to(self, user) -> bool:
        return self.roles is None or user.has_any_role(*self.roles)


# The navigation, by role. A feature adds its entry here when its page exists.
NAVIGATION: list[NavItem] = [
    NavItem(_l("Pekerjaan latar"), "admin.jobs", frozenset({"admin"})),
    NavItem(_l("Kotak keluar email"), "admin.outbox", frozenset({"admin"})),
]


ROLE_LABELS = {
    "customer": _l("Pembeli"),
    "seller": _l("Penjual"),
    "client": _l("Klien maklon"),
    "staff": _l("Staf"),
    "admin": _l("Admin"),
}
OUTBOX_LABELS = {
    "pending": _l("Menunggu"),
    "sending": _l("Sedang dikirim"),
    "sent": _l("Terkirim"),
    "failed": _l("Gagal"),
}


def wib_datetime(value: datetime | None, date_format: str = "medium") -> str:
    """A datetime shown in Asia/Jakarta as date + hours:minutes + "WIB", in the user's
    language: `23 Nov 2026 00.30 WIB` (id), `Nov 23, 2026 00:30 WIB` (en)."""
    if value is None:
        return ""
    local = to_wib(value)
    return f"{format_date(local, date_format)} {format_time(local, 'short', rebase=False)} WIB"


def init_templating(app: Flask) -> None:
    app.jinja_env.filters["rupiah"] = format_rupiah
    app.jinja_env.filters["wib"] = wib_datetime
    app.jinja_env.globals["job_live_progress"] = job_live_progress
    app.jinja_env.globals["get_locale"] = get_locale

    @app.context_processor
    def _globals() -> dict:
        nav = []
        in_request = has_request_context()  # emails are rendered by jobs, outside requests
        if in_request and current_user.is_authenticated:
            nav = [item for item in NAVIGATION if item.visible_to(current_user)]
        return {
            "nav_items": nav,
            "current_lang": getattr(g, "lang", "id"),
            "current_endpoint": request.endpoint if in_request else None,
            "url_for": url_for,
            "role_labels": ROLE_LABELS,
            "outbox_labels": OUTBOX_LABELS,
        }
