"""The backups blueprint: the admin's backups page (registered under /admin, beside the admin
console; backups are not reports, nor part of the admin package).

URL table:
    GET  /admin/cadangan                      the backups, the last one's status, job status
                                              (htmx: the list partial, re-fetched on job-finished)
    POST /admin/cadangan/buat                 enqueue a tracked "create" job
    POST /admin/cadangan/<id>/verifikasi      enqueue a tracked "verify" job
"""

from __future__ import annotations

from flask import Blueprint, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.backups.models import BackupRecord
from app.backups.offsite import last_offsite, offsite_remote
from app.core.http import render_page, see_other
from app.core.models import JobRecord
from app.core.queue import enqueue_after_commit
from app.core.security import owned_or_404, role_required
from app.core.templating import NavItem, nav_on_register
from app.extensions import db

bp = Blueprint("backups", __name__)

JOB_NAMES = ("jobs.backups.create", "jobs.backups.verify")


@bp.route("/cadangan")
@role_required("admin")
def index():
    records = db.session.scalars(
        select(BackupRecord).where(BackupRecord.removed_at.is_(None))
        .order_by(BackupRecord.created_at.desc()).limit(60)).all()
    jobs = db.session.scalars(
        select(JobRecord).where(JobRecord.name.in_(JOB_NAMES))
        .order_by(JobRecord.id.desc()).limit(3)).all()
    # htmx asks for the list alone when a job polled on the page finishes (job-finished).
    return render_page("admin/backups.html", "admin/_backups_list.html", records=records,
                       jobs=jobs, last=records[0] if records else None,
                       offsite=last_offsite(), remote=offsite_remote())


@bp.route("/cadangan/buat", methods=["POST"])
@role_required("admin")
def create():
    enqueue_after_commit("jobs.backups.create", current_user.id, queue="backups", track=True,
                         owner_id=current_user.id, description=_("Buat cadangan"),
                         retries=0, timeout=4 * 3600)
    db.session.commit()
    flash(_("Pembuatan cadangan dijadwalkan; statusnya diperbarui otomatis."), "success")
    return see_other(url_for("backups.index"))


@bp.route("/cadangan/<int:backup_id>/verifikasi", methods=["POST"])
@role_required("admin")
def verify(backup_id: int):
    record = owned_or_404(select(BackupRecord).where(BackupRecord.id == backup_id,
                                                     BackupRecord.removed_at.is_(None)))
    enqueue_after_commit("jobs.backups.verify", record.id, current_user.id, queue="backups",
                         track=True, owner_id=current_user.id,
                         description=_("Verifikasi cadangan %(name)s", name=record.filename),
                         retries=0, timeout=4 * 3600)
    db.session.commit()
    flash(_("Verifikasi dijadwalkan; statusnya diperbarui otomatis."), "success")
    return see_other(url_for("backups.index"))


# The admin console's entry (app.core.templating: domains register their menu items).
nav_on_register(
    bp,
    NavItem(_l("Cadangan"), "backups.index", frozenset({"admin"}), group="admin", order=250),
)
