"""The audit log for admins (mounted at /admin/audit). Read-only by design: there is no
route that edits or deletes an audit row (the database refuses it too).

URL table:
    GET  /admin/audit                           entries, newest first, with filters (action,
                                                actor, object, WIB dates); htmx swaps the
                                                table; the archives below
    GET  /admin/audit/arsip/<id>/unduh          one archive file (gzip JSON lines), as an
                                                attachment
"""

from __future__ import annotations

from flask import Blueprint, abort, request
from flask_babel import lazy_gettext as _l

from app.audit.queries import (
    OBJECT_TYPES,
    audit_archive_get,
    audit_archives,
    audit_filters,
    audit_page,
    change_lines,
)
from app.audit.services import ACTIONS, settings_audit_connect
from app.core.http import render_page
from app.core.security import role_required
from app.core.storage import storage_download
from app.core.templating import NavItem, nav_on_register

bp = Blueprint("audit", __name__)
# Changed settings are audited (app.core.settings announces them).
bp.record_once(lambda _state: settings_audit_connect())


@bp.get("")
@role_required("admin")
def index():
    filters, problems = audit_filters(request.args)
    return render_page("audit/index.html", "audit/_entries.html",
                       filters=filters, problems=problems, entries=audit_page(filters),
                       archives=audit_archives(), action_labels=ACTIONS,
                       object_types=OBJECT_TYPES, change_lines=change_lines)


@bp.get("/arsip/<int:archive_id>/unduh")
@role_required("admin")
def archive_download(archive_id: int):
    """The archive's file as a download; 404 when the archive or its file is gone."""
    archive = audit_archive_get(archive_id)
    if archive is None:
        abort(404)
    response = storage_download(
        archive.file_key, mimetype="application/gzip",
        filename=f"audit-{archive.first_id}-{archive.last_id}.jsonl.gz")
    response.cache_control.no_store = True
    return response


# This blueprint's entries in the header (app.core.templating: domains register their
# menu items and badges; `order` is the place in the header).
nav_on_register(
    bp,
    NavItem(_l("Log audit"), "audit.index", frozenset({"admin"}), group="admin", order=240),
)
