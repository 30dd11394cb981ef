"""Restore a backup over the live database and storage files — never half-way.

Order: (1) refuse an archive whose schema revision the code does not know (it is newer
than the code: upgrade the app first); (2) verify it completely (decrypt, scratch restore,
counts, file hashes); (3) unpack it again: the snapshot and the files into a work folder
beside the archives; (4) replace the database: SQLite - copy the
snapshot next to the database file, dispose the engine, atomic `os.replace` over the file
(stale -wal/-shm removed); PostgreSQL - one psql transaction that drops and re-creates the
public schema and loads the dump (`pg_restore -f -` streamed), so an error rolls everything
back and the old data stays (we chose this over a database rename swap: a rename needs
every other connection gone and changes the database's identity for the server's grants);
(5) put the staged files back under their keys, on the local disk or in the bucket
(files added since the backup stay); (6) re-add the
BackupRecord rows the snapshot did not know yet (archives made after it) and audit.

Stop the web server and the workers before a restore (the README says so).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from app.audit.services import audit_record
from app.backups.create import backup_dir, code_revision, revision_known
from app.backups.models import BackupRecord
from app.backups.snapshot import pg_replace, sqlite_path
from app.backups.verify import read_archive, verify_archive
from app.core.storage import storage_key_valid, storage_restore_file
from app.extensions import db

RECORD_FIELDS = ("filename", "size", "sha256", "schema_revision", "database", "manifest",
                 "status", "verified_at", "verify_message", "removed_at", "scheduled",
                 "created_at")


class RestoreError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def check_revision(revision: str) -> None:
    if not revision_known(revision):
        raise RestoreError(
            f"Cadangan ini dari revisi skema {revision or '?'} yang lebih baru dari (atau tidak "
            f"dikenal oleh) kode ini ({code_revision()}): perbarui aplikasi dulu, lalu "
            "pulihkan.")


def restore_backup(record: BackupRecord) -> dict[str, Any]:
    """Replace the database and files with `record`'s archive. Commits (the database is
    swapped underneath the session)."""
    check_revision(record.schema_revision)
    filename = record.filename
    archive = backup_dir() / filename
    kind = db.engine.dialect.name
    if record.database != kind:
        raise RestoreError(f"Cadangan ini dari {record.database}, database sekarang {kind}.")
    extracted, _summary = verify_archive(archive, sha256=record.sha256)
    check_revision(extracted.manifest["schema_revision"])
    known = [{name: getattr(row, name) for name in RECORD_FIELDS}
             for row in db.session.scalars(select(BackupRecord))]
    url = db.engine.url
    work = Path(tempfile.mkdtemp(prefix=".restore-", dir=backup_dir()))
    staging = work / "files"
    try:
        extracted = read_archive(archive, work, files_to=staging)
        db.session.remove()
        if kind == "sqlite":
            target = sqlite_path(url)
            incoming = target.with_name(target.name + ".restore-tmp")
            shutil.copyfile(extracted.database, incoming)
            db.engine.dispose()
            os.replace(incoming, target)
            for suffix in ("-wal", "-shm"):
                Path(str(target) + suffix).unlink(missing_ok=True)
        else:
            db.engine.dispose()
            pg_replace(extracted.database, url)
            db.engine.dispose()
        moved = 0
        for path in sorted(staging.rglob("*")) if staging.is_dir() else ():
            key = path.relative_to(staging).as_posix()
            if path.is_file() and storage_key_valid(key):
                storage_restore_file(key, path)
                moved += 1
    finally:
        shutil.rmtree(work, ignore_errors=True)
    present = set(db.session.scalars(select(BackupRecord.filename)))
    for values in known:
        if values["filename"] not in present:
            db.session.add(BackupRecord(**values))
    db.session.flush()
    restored = db.session.scalar(select(BackupRecord).where(
        BackupRecord.filename == filename))
    audit_record("backup.restore", actor=None, object_type="backup",
                 object_id=restored.id if restored else None,
                 after={"filename": filename,
                        "rows": extracted.manifest["rows"], "files": moved})
    db.session.commit()
    return {"filename": filename, "rows": extracted.manifest["rows"], "files": moved}
