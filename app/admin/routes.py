"""Admin blueprint (mounted at /admin).

URL table:
    GET  /admin/pekerjaan                       recent background jobs with live status
    POST /admin/pekerjaan/uji-email             run a tracked job that emails the admin
    GET  /admin/email                           email outbox (filter by status)
    POST /admin/email/<id>/kirim-ulang          put a failed/pending email back in the queue
    /admin/pengguna...                          user management: see app.admin.user_routes
    /admin/pengaturan...                        system settings: see app.admin.settings_routes
    /admin/cadangan...                          backups: their own blueprint, app.backups.routes
"""

from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.core.http import render_page, see_other
from app.core.mail import outbox_retry
from app.core.models import EmailOutbox, JobRecord, OutboxStatus
from app.core.queue import enqueue_after_commit
from app.core.security import owned_or_404, role_required
from app.core.templating import NavItem, nav_on_register
from app.extensions import db

bp = Blueprint("admin", __name__)

OUTBOX_FILTERS = (
    OutboxStatus.PENDING,
    OutboxStatus.SENDING,
    OutboxStatus.SENT,
    OutboxStatus.FAILED,
)


@bp.route("/pekerjaan")
@role_required("admin")
def jobs():
    records = db.session.scalars(
        select(JobRecord).order_by(JobRecord.id.desc()).limit(50)
    ).all()
    return render_page("admin/jobs.html", jobs=records)


@bp.route("/pekerjaan/uji-email", methods=["POST"])
@role_required("admin")
def jobs_test_email():
    enqueue_after_commit(
        "jobs.mail.send_test_email",
        current_user.id,
        track=True,
        owner_id=current_user.id,
        description=_("Kirim email uji ke %(email)s", email=current_user.email),
    )
    db.session.commit()
    flash(_("Pekerjaan dijadwalkan; statusnya diperbarui otomatis."), "success")
    return see_other(url_for("admin.jobs"))


@bp.route("/email")
@role_required("admin")
def outbox():
    status = request.args.get("status", "")
    stmt = select(EmailOutbox).order_by(EmailOutbox.id.desc()).limit(100)
    if status in OUTBOX_FILTERS:
        stmt = stmt.where(EmailOutbox.status == status)
    else:
        status = ""
    rows = db.session.scalars(stmt).all()
    return render_page("admin/outbox.html", "admin/_outbox_rows.html", rows=rows,
                       status_filter=status, filters=OUTBOX_FILTERS)


@bp.route("/email/<int:outbox_id>/kirim-ulang", methods=["POST"])
@role_required("admin")
def outbox_resend(outbox_id: int):
    row = owned_or_404(select(EmailOutbox).where(EmailOutbox.id == outbox_id))
    if row.status == OutboxStatus.SENT:
        flash(_("Email ini sudah terkirim."), "info")
    else:
        outbox_retry(outbox=row)
        db.session.commit()
        flash(_("Email dijadwalkan untuk dikirim ulang."), "success")
    return see_other(url_for("admin.outbox", status=request.args.get("status", "")))


# User management and settings live in their own modules; importing them registers their
# routes on `bp`.
from app.admin import settings_routes, user_routes  # noqa: E402,F401

# This blueprint's entries in the header (app.core.templating: domains register their
# menu items and badges; `order` is the place in the header).
nav_on_register(
    bp,
    NavItem(_l("Pengguna"), "admin.users", frozenset({"admin"}), group="admin", order=170),
    NavItem(_l("Pengaturan"), "admin.settings", frozenset({"admin"}), group="admin",
            order=180),
    NavItem(_l("Pekerjaan latar"), "admin.jobs", frozenset({"admin"}), group="admin",
            order=220),
    NavItem(_l("Kotak keluar email"), "admin.outbox", frozenset({"admin"}), group="admin",
            order=230),
)
