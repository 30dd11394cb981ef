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

from flask import Blueprint, abort, request, send_file

from app.accounts.models import RoleName
from app.audit.queries import (
    OBJECT_TYPES,
    audit_archive_get,
    audit_archives,
    audit_filters,
    audit_page,
    change_lines,
)
from app.audit.services import ACTIONS
from app.core.http import render_page
from app.core.security import role_required
from app.core.storage import storage_path

bp = Blueprint("audit", __name__)


@bp.get("")
@role_required(RoleName.ADMIN)
def index():
    filters, problems = audit_filters(request.args)
    return render_page("audit/index.html", "audit/_entries.html",
                       filters=filters, problems=problems, entries=audit_page(filters),
                       archives=audit_archives(), action_labels=ACTIONS,
                       object_types=OBJECT_TYPES, change_lines=change_lines)


@bp.get("/arsip/<int:archive_id>/unduh")
@role_required(RoleName.ADMIN)
def archive_download(archive_id: int):
    """The archive's file as a download; 404 when the archive or its file is gone."""
    archive = audit_archive_get(archive_id)
    if archive is None:
        abort(404)
    path = storage_path(archive.file_key)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype="application/gzip", as_attachment=True,
                         download_name=f"audit-{archive.first_id}-{archive.last_id}.jsonl.gz",
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response
