"""Backup jobs (queue `backups`): create, verify, and the nightly create + verify + rotate."""

from __future__ import annotations

import logging

from app.core.queue import job_progress
from app.extensions import db

log = logging.getLogger(__name__)


def create(user_id: int | None = None) -> dict:
    from app.accounts.models import User
    from app.reports.backups.create import create_backup

    actor = db.session.get(User, user_id) if user_id else None
    job_progress(10, "Membuat cadangan")
    record = create_backup(actor=actor)
    return {"backup_id": record.id, "filename": record.filename, "size": record.size}


def verify(backup_id: int, user_id: int | None = None) -> dict:
    from app.accounts.models import User
    from app.reports.backups.verify import verify_backup
    from app.reports.models import BackupRecord

    record = db.session.get(BackupRecord, backup_id)
    if record is None:
        raise LookupError(f"backup {backup_id} does not exist")
    actor = db.session.get(User, user_id) if user_id else None
    job_progress(10, "Memverifikasi cadangan")
    ok = verify_backup(record, actor=actor)
    return {"backup_id": record.id, "status": record.status, "ok": ok}


def nightly() -> dict:
    """Cron, 02:00 WIB: create, verify (the result is stored either way), rotate."""
    from app.reports.backups.create import create_backup
    from app.reports.backups.rotation import rotate_backups
    from app.reports.backups.verify import verify_backup

    record = create_backup(scheduled=True)
    db.session.commit()  # the archive exists: keep its row whatever verification says
    ok = verify_backup(record)
    db.session.commit()
    if not ok:
        log.error("nightly backup %s failed verification: %s", record.filename,
                  record.verify_message)
    rotated = rotate_backups()
    return {"backup_id": record.id, "status": record.status, "removed": rotated["removed"]}
