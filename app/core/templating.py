"""Jinja filters and globals: money, WIB dates, navigation by role."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import (
    Blueprint,
    Flask,
    current_app,
    g,
    has_app_context,
    has_request_context,
    request,
    session,
    url_for,
)
from flask.sansio.app import App
from flask_babel import format_date, format_time, get_locale, get_translations
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.core.clock import to_wib
from app.core.money import format_rupiah_shown
from app.core.notices import notice_text, notices_unread_count
from app.core.queue import job_live_progress


@dataclass(frozen=True)
class NavGroup:
    """A header menu: the areas of one role, under one name."""

    key: str
    label: object  # lazy string


# The header's menus, in the order they appear.
NAV_GROUPS: list[NavGroup] = [
    NavGroup("shop", _l("Belanja")),
    NavGroup("store", _l("Toko saya")),
    NavGroup("maklon", _l("Maklon")),
    NavGroup("production", _l("Produksi")),
    NavGroup("crm", _l("CRM")),
    NavGroup("admin", _l("Admin")),
]


@dataclass(frozen=True)
class NavItem:
    label: object  # lazy string
    endpoint: str
    roles: frozenset[str] | None  # None: everybody logged in
    # Takes the user and returns a count shown as a badge (0: none); the domain that owns
    # the item passes its own function, so core names no domain.
    badge: Callable[[Any], int] | None = None
    group: str = "shop"  # a NavGroup.key: the header menu the item sits in
    # An item with an icon (the cart) sits beside the menus as icon + count, not in one.
    icon: str | None = None
    # The place in the header (ascending): items of different domains interleave by it.
    order: int = 0

    def visible_to(self, user) -> bool:
        return self.roles is None or user.has_any_role(*self.roles)

    def count(self, user) -> int:
        if self.badge is None:
            return 0
        return int(self.badge(user) or 0)


NAV_EXTENSION = "racik.navigation"


def nav_register(app: App, *items: NavItem) -> None:
    """Add a domain's menu items (with their badges) to `app`'s navigation. Each domain
    calls it when its blueprint is registered (`bp.record_once`), so core knows no domain:
    the header shows what the registered blueprints added, sorted by `NavItem.order`.
    Registering an endpoint twice keeps the first item."""
    registry: list[NavItem] = app.extensions.setdefault(NAV_EXTENSION, [])
    known = {item.endpoint for item in registry}
    for item in items:
        if item.endpoint not in known:
            registry.append(item)
            known.add(item.endpoint)
    registry.sort(key=lambda item: item.order)


def nav_items(app: Flask) -> list[NavItem]:
    """The navigation of `app` (every registered item, in header order)."""
    return list(app.extensions.get(NAV_EXTENSION, []))


def nav_on_register(bp: Blueprint, *items: NavItem) -> None:
    """Register `items` in the navigation of each app the blueprint `bp` is registered on."""
    bp.record_once(lambda state: nav_register(state.app, *items))


@dataclass
class NavMenu:
    """One header menu as the layout draws it: the group and the user's items in it."""

    group: NavGroup
    items: list[tuple[NavItem, int]]  # (item, badge count)

    @property
    def count(self) -> int:
        return sum(count for _item, count in self.items)

    def has(self, endpoint: str | None) -> bool:
        return any(item.endpoint == endpoint for item, _count in self.items)


def nav_menus(items: list[NavItem], user) -> list[NavMenu]:
    """The user's items grouped into the header's menus (icon items left out), each
    badge counted once."""
    menus = []
    for group in NAV_GROUPS:
        entries = [(item, item.count(user)) for item in items
                   if item.group == group.key and not item.icon]
        if entries:
            menus.append(NavMenu(group, entries))
    return menus


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


def _unread_notices() -> int:
    """Counted once per request (the layout and a page may both ask)."""
    if "unread_notices" not in g:
        g.unread_notices = notices_unread_count(current_user.id)
    return g.unread_notices


def csrf_token_issued() -> bool:
    """True when this visitor already holds a CSRF token (their session has one, or this
    request made one): only then may a page hand it out without starting a session."""
    field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    return field in g or field in session


def date_field(value: date | None) -> str:
    """A date as a date field shows and reads it back (app/core/filters.py): HH/BB/TTTT."""
    return value.strftime("%d/%m/%Y") if value else ""


def url_with(**changes: object) -> str:
    """The current URL with some query arguments changed (None removes one): pagination
    and sort links that keep every filter."""
    args = request.args.to_dict(flat=False)
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = [str(value)]
    query = urlencode(args, doseq=True)
    return request.path + ("?" + query if query else "")


# One date format across the app (issue 20): "7 Des 2026" and "7 Des 2026, 01.50 WIB" in
# Indonesian, "7 Dec 2026" and "7 Dec 2026, 01:50 WIB" in English. Templates use the `day`
# and `wib` filters; Python code (PDFs, exports) calls wib_date / wib_datetime.
DATE_PATTERN = "d MMM y"
TIME_PATTERNS = {"id": "HH.mm", "en": "HH:mm"}


def _time_pattern() -> str:
    return TIME_PATTERNS.get(str(get_locale() or "id").split("_")[0], "HH:mm")


def wib_date(value: date | datetime | None, _legacy_style: str | None = None) -> str:
    """A date (a datetime: its day in Asia/Jakarta) as `7 Des 2026` / `7 Dec 2026`.
    A second argument (the old "medium"/"long" styles) is accepted and ignored."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = to_wib(value).date()
    return format_date(value, DATE_PATTERN)


def wib_datetime(value: datetime | None, _legacy_style: str | None = None) -> str:
    """A datetime in Asia/Jakarta as `7 Des 2026, 01.50 WIB` (id) or `7 Dec 2026, 01:50
    WIB` (en). A second argument (the old "short"/"medium"/"long" styles, still passed by
    some templates) is accepted and ignored: there is one format."""
    if value is None:
        return ""
    local = to_wib(value)
    return (f"{format_date(local, DATE_PATTERN)}, "
            f"{format_time(local, _time_pattern(), rebase=False)} WIB")


STATIC_MAX_AGE = 365 * 24 * 3600


def _static_versions(app: Flask):
    """`?v=<content hash>` for static URLs, so browsers may cache them for a year and still
    fetch a file again the moment it changes (low-end tablets on slow links)."""
    cache: dict[str, str] = {}
    folder = Path(app.static_folder or "")

    def version(filename: str) -> str:
        if filename not in cache:
            try:
                digest = hashlib.sha256((folder / filename).read_bytes()).hexdigest()[:12]
            except OSError:
                digest = ""
            cache[filename] = digest
        return cache[filename]

    return version


def _translations():
    """Flask-Babel's translations for the current locale, looked up once per context and
    locale (templates call gettext dozens of times per page; Flask-Babel's own lookup walks
    several context proxies each time). `force_locale` changes the locale object, which
    invalidates this cache."""
    if not has_app_context():
        return get_translations()
    namespace = g.get("_flask_babel")
    cached = getattr(namespace, "racik_translations", None) if namespace else None
    if cached is not None and cached[0] is getattr(namespace, "babel_locale", None):
        return cached[1]
    translations = get_translations()
    g._flask_babel.racik_translations = (get_locale(), translations)
    return translations


def init_templating(app: Flask) -> None:
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # jinja2.ext.i18n adds it
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )
    static_version = _static_versions(app)

    @app.url_defaults
    def _version_static_urls(endpoint: str, values: dict) -> None:
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = static_version(values["filename"])
            if digest:
                values["v"] = digest

    @app.after_request
    def _cache_versioned_static(response):
        # Only versioned static URLs are immutable; other files (send_file: invoices,
        # photos...) keep Flask's default of revalidating.
        if request.endpoint == "static" and request.args.get("v"):
            response.cache_control.public = True
            response.cache_control.max_age = STATIC_MAX_AGE
        return response

    app.jinja_env.filters["rupiah"] = format_rupiah_shown  # "Rp\u00a01.250.000": never wraps
    app.jinja_env.filters["wib"] = wib_datetime
    app.jinja_env.filters["day"] = wib_date
    app.jinja_env.filters["date_field"] = date_field
    app.jinja_env.globals["job_live_progress"] = job_live_progress
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["url_with"] = url_with
    from app.core.stylesheets import area_sheets

    app.jinja_env.globals["area_sheets"] = area_sheets  # issue 20: per-area CSS
    app.jinja_env.globals["csrf_token_issued"] = csrf_token_issued

    @app.context_processor
    def _globals() -> dict:
        nav = []
        menus: list[NavMenu] = []
        unread = 0
        in_request = has_request_context()  # emails are rendered by jobs, outside requests
        # An email rendered during a request (a checkout queues three) has no menus.
        if in_request and current_user.is_authenticated and not g.get("racik_email"):
            nav = [item for item in nav_items(current_app) if item.visible_to(current_user)]
            menus = nav_menus(nav, current_user)
            unread = _unread_notices()
        return {
            "nav_items": nav,
            "nav_menus": menus,
            "current_lang": str(get_locale() or "id"),
            "current_endpoint": request.endpoint if in_request else None,
            "url_for": url_for,
            "role_labels": ROLE_LABELS,
            "outbox_labels": OUTBOX_LABELS,
            "unread_notices": unread,
            "notice_text": notice_text,
        }
