"""Off-site copies: every verified archive copied with rclone to BACKUP_REMOTE.

rclone (Debian package `rclone`) speaks S3-compatible storage, SFTP, Google Drive and many
more; the remotes are defined in the file RCLONE_CONFIG (`rclone config` writes one).
BACKUP_REMOTE is a remote path, e.g. `offsite:racik-backups`.

- `offsite_copy(record)`: `rclone copyto` of a verified archive to
  `BACKUP_REMOTE/<filename>` (rclone compares checksums where the remote has them), then
  the size found there must equal the local one. The outcome (time, remote, size, error)
  is stored on the record (flushed) and shown on /admin/cadangan and the dashboard; a
  failure is logged as an error, never swallowed, and never touches the local archive.
- `offsite_rotate()`: the remote under the same 7/4/12 rule as the local archives
  (`backups_to_keep` over the copied records); only files the records name are deleted,
  all in one `rclone delete --files-from-raw`.
- `offsite_fetch(filename)`: the archive back from the remote into BACKUP_DIR, its
  SHA-256 compared with the record when there is one (`flask backup restore
  --from-remote`, which then verifies and restores as usual).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from app.backups.create import backup_dir
from app.backups.models import BackupRecord, BackupStatus
from app.backups.rotation import backups_to_keep, retention
from app.core.clock import utcnow
from app.extensions import db

log = logging.getLogger(__name__)


class OffsiteStatus:
    COPIED = "copied"
    FAILED = "failed"


class OffsiteError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def offsite_remote() -> str:
    """BACKUP_REMOTE without a trailing slash ("" when off-site copies are off)."""
    return (current_app.config.get("BACKUP_REMOTE") or "").strip().rstrip("/")


def _remote_dir() -> str:
    """The remote folder as rclone wants it: `name:` alone, or `name:path/`."""
    remote = offsite_remote()
    return remote if remote.endswith(":") else remote + "/"


def _remote_path(filename: str) -> str:
    return _remote_dir() + filename


def _rclone(*args: str, timeout: int | None = None) -> str:
    """Run rclone with our config; its stdout. Raises OffsiteError with rclone's own
    message (its last stderr line) on any failure."""
    config = current_app.config
    binary = shutil.which(config["RCLONE_BINARY"]) or config["RCLONE_BINARY"]
    command = [binary, *args]
    env = dict(os.environ)
    if config.get("RCLONE_CONFIG"):
        env["RCLONE_CONFIG"] = config["RCLONE_CONFIG"]
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env,  # noqa: S603
                              timeout=timeout or config["RCLONE_TIMEOUT"], check=False)
    except FileNotFoundError:
        raise OffsiteError("rclone tidak terpasang (apt-get install rclone)") from None
    except subprocess.TimeoutExpired:
        raise OffsiteError(f"rclone {args[0]} melewati batas waktu") from None
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
        raise OffsiteError(f"rclone {args[0]} gagal: {lines[-1] if lines else done.returncode}")
    return done.stdout


def remote_listing() -> dict[str, int]:
    """The archives on the remote: file name -> size."""
    if not offsite_remote():
        raise OffsiteError("BACKUP_REMOTE belum diatur")
    out = _rclone("lsjson", "--files-only", "--no-mimetype", _remote_dir())
    return {item["Name"]: int(item["Size"]) for item in json.loads(out or "[]")
            if item["Name"].endswith(".rbk")}


def offsite_copy(record: BackupRecord) -> bool:
    """Copy `record`'s verified archive to the remote; store the outcome (flushed). True
    when the copy is there with the right size; False (logged, shown) otherwise."""
    remote = offsite_remote()
    if not remote:
        return False
    try:
        if record.status != BackupStatus.VERIFIED:
            raise OffsiteError("hanya cadangan yang lolos verifikasi yang disalin ke luar")
        archive = backup_dir() / record.filename
        if not archive.is_file():
            raise OffsiteError(f"arsip {record.filename} tidak ada di BACKUP_DIR")
        _rclone("copyto", str(archive), _remote_path(record.filename))
        size = remote_listing().get(record.filename)
        if size != record.size:
            raise OffsiteError(f"ukuran di remote ({size}) berbeda dari arsip ({record.size})")
    except OffsiteError as error:
        log.error("off-site copy of backup %s to %s failed: %s", record.filename, remote,
                  error.message)
        _outcome(record, OffsiteStatus.FAILED, remote, None, error.message)
        return False
    log.info("backup %s copied off-site to %s (%s bytes)", record.filename, remote, size)
    _outcome(record, OffsiteStatus.COPIED, remote, size, "")
    return True


def _outcome(record: BackupRecord, status: str, remote: str, size: int | None,
             error: str) -> None:
    record.offsite_status = status
    record.offsite_at = utcnow()
    record.offsite_remote = remote[:300]
    record.offsite_size = size
    record.offsite_error = error[:2000]
    record.offsite_removed_at = None
    db.session.flush()


def offsite_rotate(now=None) -> dict[str, Any]:
    """Delete from the remote the copies the 7/4/12 rotation does not keep (flushed).
    Raises OffsiteError when the remote cannot be listed."""
    now = now or utcnow()
    records = db.session.scalars(select(BackupRecord).where(
        BackupRecord.offsite_status == OffsiteStatus.COPIED,
        BackupRecord.offsite_removed_at.is_(None))).all()
    daily, weekly, monthly = retention()
    keep = backups_to_keep([record.created_at for record in records], now,
                           daily=daily, weekly=weekly, monthly=monthly)
    present = remote_listing()
    gone = [record for record in records if record.created_at not in keep]
    _remote_delete([record.filename for record in gone if record.filename in present])
    for record in gone:
        record.offsite_removed_at = now
    db.session.flush()
    return {"kept": len(records) - len(gone), "removed": [record.filename for record in gone]}


def _remote_delete(filenames: list[str]) -> None:
    """Delete these files of the remote folder in one `rclone delete --files-from-raw`:
    one connection to the remote, not one rclone run (and SFTP or S3 login) per file.
    Only the listed names go; the folder's other files stay."""
    if not filenames:
        return
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as listing:
        listing.write("".join(f"{name}\n" for name in filenames))
        listing.flush()
        _rclone("delete", _remote_dir(), "--files-from-raw", listing.name)


def offsite_fetch(filename: str) -> Path:
    """Download `filename` from the remote into BACKUP_DIR (atomically: a .part first);
    its SHA-256 must match the record when one exists. Raises OffsiteError."""
    if not offsite_remote():
        raise OffsiteError("BACKUP_REMOTE belum diatur")
    if "/" in filename or not filename.endswith(".rbk") or filename.startswith("."):
        raise OffsiteError(f"nama arsip tidak sah: {filename}")
    if filename not in remote_listing():
        raise OffsiteError(f"{filename} tidak ada di {offsite_remote()}")
    target = backup_dir() / filename
    partial = target.with_name(f".{filename}.fetch")
    try:
        _rclone("copyto", _remote_path(filename), str(partial))
        record = db.session.scalar(select(BackupRecord).where(BackupRecord.filename == filename))
        if record is not None and record.sha256 and _sha256(partial) != record.sha256:
            raise OffsiteError("arsip dari remote rusak: SHA-256 berbeda dari catatan")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def last_offsite() -> BackupRecord | None:
    """The newest off-site attempt (copied or failed), for the admin pages."""
    return db.session.scalar(select(BackupRecord).where(BackupRecord.offsite_at.is_not(None))
                             .order_by(BackupRecord.offsite_at.desc()).limit(1))
