"""Backup jobs (queue `backups`): create, verify, and the nightly create + verify + rotate."""

from __future__ import annotations

import logging

from app.backups.offsite import (
    OffsiteError,
    OffsiteStatus,
    offsite_copy,
    offsite_remote,
    offsite_rotate,
)
from app.core.queue import job_progress
from app.extensions import db

log = logging.getLogger(__name__)


def create(user_id: int | None = None) -> dict:
    from app.accounts.models import User
    from app.backups.create import create_backup

    actor = db.session.get(User, user_id) if user_id else None
    job_progress(10, "Membuat cadangan")
    record = create_backup(actor=actor)
    return {"backup_id": record.id, "filename": record.filename, "size": record.size}


def verify(backup_id: int, user_id: int | None = None) -> dict:
    from app.accounts.models import User
    from app.backups.models import BackupRecord
    from app.backups.verify import verify_backup

    record = db.session.get(BackupRecord, backup_id)
    if record is None:
        raise LookupError(f"backup {backup_id} does not exist")
    actor = db.session.get(User, user_id) if user_id else None
    job_progress(10, "Memverifikasi cadangan")
    ok = verify_backup(record, actor=actor)
    copied = None
    if ok and offsite_remote() and record.offsite_status != OffsiteStatus.COPIED:
        db.session.commit()  # the verification stands whatever the copy does
        job_progress(60, "Menyalin ke luar server")
        copied = offsite_copy(record)
    return {"backup_id": record.id, "status": record.status, "ok": ok, "offsite": copied}


def nightly() -> dict:
    """Cron, 02:00 WIB: create, verify (the result is stored either way), copy the verified
    archive off-site (BACKUP_REMOTE), rotate here and there. An off-site failure is logged
    and shown on the admin pages; the local archives stay whatever the remote does."""
    from app.backups.create import create_backup
    from app.backups.rotation import rotate_backups
    from app.backups.verify import verify_backup

    record = create_backup(scheduled=True)
    db.session.commit()  # the archive exists: keep its row whatever verification says
    ok = verify_backup(record)
    db.session.commit()
    if not ok:
        log.error("nightly backup %s failed verification: %s", record.filename,
                  record.verify_message)
    copied = offsite_copy(record) if ok and offsite_remote() else None
    db.session.commit()
    rotated = rotate_backups()
    db.session.commit()
    remote_removed: list[str] = []
    if offsite_remote():
        try:
            remote_removed = offsite_rotate()["removed"]
        except OffsiteError as error:
            log.error("off-site rotation on %s failed: %s", offsite_remote(), error.message)
    return {"backup_id": record.id, "status": record.status, "removed": rotated["removed"],
            "offsite": copied, "offsite_removed": remote_removed}
