"""Audit log reads for the admin page: filters from the query string, one page of entries
(newest first), the archives, and the compact "field: old → new" lines of an entry.

Dates are WIB days: `dari`..`sampai` become the UTC bounds [dari 00:00 WIB, sampai+1 00:00
WIB) so the (created_at, id) index serves them. The count stops COUNT_AHEAD pages past the
current one (as the order lists do): the table grows by every login and payment, and
counting a year of it would be most of the page's time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.audit.models import AuditArchive, AuditEntry
from app.audit.services import ACTIONS
from app.core.filters import page_arg, wib_bounds, wib_date_range
from app.core.pagination import Page
from app.extensions import db

ENTRIES_PER_PAGE = 50
COUNT_AHEAD = 10  # pages counted beyond the current one
ARCHIVES_SHOWN = 50
ACTOR_MAX = 100
VALUE_MAX = 200  # characters of one value shown; the archive keeps everything
OBJECT_TYPE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# The object types the hooks write, with their labels (suggested in the filter's list).
OBJECT_TYPES: dict[str, object] = {
    "user": _l("Pengguna"),
    "setting": _l("Pengaturan"),
    "product": _l("Produk"),
    "variant": _l("Varian"),
    "order": _l("Pesanan"),
    "payment": _l("Pembayaran"),
    "audit_archive": _l("Arsip log audit"),
}


@dataclass
class AuditFilters:
    action: str = ""
    actor: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1


@dataclass(frozen=True)
class ChangeLine:
    """One field of an entry: `old` and/or `new` (None: not on that side)."""

    field: str
    old: str | None
    new: str | None


def audit_filters(args: Mapping[str, str]) -> tuple[AuditFilters, list[str]]:
    """Read the filters from the query string. A bad value is ignored and explained (one
    message each), never an error page."""
    filters = AuditFilters()
    problems: list[str] = []
    action = (args.get("aksi") or "").strip()
    if action in ACTIONS:
        filters.action = action
    elif action:
        problems.append(str(_l("Tindakan \"%(value)s\" tidak dikenal; filter tindakan "
                               "diabaikan.", value=action[:60])))
    actor = (args.get("pelaku") or "").strip()
    if len(actor) > ACTOR_MAX:
        problems.append(str(_l("Pelaku maksimal %(max)s karakter; filter pelaku diabaikan.",
                               max=ACTOR_MAX)))
    else:
        filters.actor = actor
    object_type = (args.get("objek") or "").strip()
    if OBJECT_TYPE.match(object_type):
        filters.object_type = object_type
    elif object_type:
        problems.append(str(_l("Jenis objek \"%(value)s\" tidak valid; filter jenis objek "
                               "diabaikan.", value=object_type[:40])))
    object_id = (args.get("id_objek") or "").strip()
    if len(object_id) > 60:
        problems.append(str(_l("ID objek maksimal 60 karakter; filter ID objek diabaikan.")))
    else:
        filters.object_id = object_id
    filters.date_from, filters.date_to = wib_date_range(args, problems)
    filters.page = page_arg(args, problems)
    return filters, problems


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _conditions(filters: AuditFilters) -> list:
    conditions = []
    if filters.action:
        conditions.append(AuditEntry.action == filters.action)
    if filters.actor:
        pattern = f"%{_like_escaped(filters.actor.lower())}%"
        conditions.append(func.lower(AuditEntry.actor_label).like(pattern, escape="\\"))
    if filters.object_type:
        conditions.append(AuditEntry.object_type == filters.object_type)
    if filters.object_id:
        conditions.append(AuditEntry.object_id == filters.object_id)
    start, end = wib_bounds(filters.date_from, filters.date_to)
    if start is not None:
        conditions.append(AuditEntry.created_at >= start)
    if end is not None:
        conditions.append(AuditEntry.created_at < end)
    return conditions


def audit_page(filters: AuditFilters) -> Page[AuditEntry]:
    """One page of entries matching `filters`, newest first (ENTRIES_PER_PAGE a page)."""
    conditions = _conditions(filters)
    page = filters.page
    per_page = ENTRIES_PER_PAGE
    cap = (page + COUNT_AHEAD) * per_page
    counted = db.session.scalar(select(func.count()).select_from(
        select(AuditEntry.id).where(*conditions).limit(cap + 1).subquery())) or 0
    if counted <= (page - 1) * per_page and page > 1:  # past the end: show the last page
        page = max(1, -(-counted // per_page))
        cap = (page + COUNT_AHEAD) * per_page
    items = list(db.session.scalars(
        select(AuditEntry).where(*conditions)
        .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, total=min(counted, cap), page=page, per_page=per_page,
                exact=counted <= cap)


def audit_archives() -> list[AuditArchive]:
    """The newest archives first (ARCHIVES_SHOWN of them)."""
    return list(db.session.scalars(
        select(AuditArchive).order_by(AuditArchive.id.desc()).limit(ARCHIVES_SHOWN)))


def audit_archive_get(archive_id: int) -> AuditArchive | None:
    return db.session.get(AuditArchive, archive_id)


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        text = value
    elif isinstance(value, int | float):
        text = str(value)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= VALUE_MAX else text[:VALUE_MAX - 1] + "…"


def change_lines(before: dict[str, Any] | None, after: dict[str, Any] | None
                 ) -> list[ChangeLine]:
    """The entry's values as lines: a field on both sides `old → new`, on one side only its
    value. Plain text (the template escapes it: values can hold what users typed)."""
    before = before if isinstance(before, dict) else {}
    after = after if isinstance(after, dict) else {}
    keys = list(before) + [k for k in after if k not in before]
    return [ChangeLine(field=str(key)[:60],
                       old=_shown(before[key]) if key in before else None,
                       new=_shown(after[key]) if key in after else None)
            for key in keys]
