"""`flask backup ...`: create, list, verify, restore [--from-remote], rotate, offsite,
remote, new-key."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.backups.archive import ArchiveError
from app.backups.models import BackupRecord
from app.backups.snapshot import SnapshotError
from app.core.clock import to_wib
from app.extensions import db

backup_cli = AppGroup("backup", help="Encrypted, verified backups (see README, Backups).")


def _record(backup_id: int | None, latest: bool) -> BackupRecord:
    stmt = select(BackupRecord).where(BackupRecord.removed_at.is_(None))
    if latest:
        record = db.session.scalar(stmt.order_by(BackupRecord.created_at.desc()).limit(1))
    elif backup_id is not None:
        record = db.session.scalar(stmt.where(BackupRecord.id == backup_id))
    else:
        raise click.UsageError("give a backup ID or --latest")
    if record is None:
        raise click.ClickException("no such backup (see `flask backup list`)")
    return record


@backup_cli.command("create")
def create() -> None:
    """Create an encrypted backup in BACKUP_DIR."""
    from app.backups.create import create_backup

    try:
        record = create_backup()
    except (SnapshotError, ArchiveError) as error:
        db.session.rollback()
        raise click.ClickException(error.message) from None
    db.session.commit()
    click.echo(f"#{record.id} {record.filename} {record.size} bytes, "
               f"{record.manifest['rows']} rows, {record.manifest['files_count']} files")


@backup_cli.command("list")
def list_() -> None:
    """List the backups (newest first)."""
    records = db.session.scalars(
        select(BackupRecord).order_by(BackupRecord.created_at.desc())).all()
    for record in records:
        state = "removed" if record.removed_at else record.status
        click.echo(f"#{record.id}\t{to_wib(record.created_at):%Y-%m-%d %H:%M} WIB\t"
                   f"{record.size}\t{state}\t{record.filename}\t{record.verify_message}")


@backup_cli.command("verify")
@click.argument("backup_id", type=int, required=False)
@click.option("--latest", is_flag=True, help="Verify the newest backup.")
def verify(backup_id: int | None, latest: bool) -> None:
    """Decrypt, restore into a scratch database and compare with the manifest; a verified
    archive is then copied off-site (BACKUP_REMOTE) unless it already is."""
    from app.backups.offsite import OffsiteStatus, offsite_copy, offsite_remote
    from app.backups.verify import verify_backup

    record = _record(backup_id, latest)
    ok = verify_backup(record)
    db.session.commit()
    click.echo(f"#{record.id} {record.status}: {record.verify_message}")
    if not ok:
        raise SystemExit(1)
    if offsite_remote() and record.offsite_status != OffsiteStatus.COPIED:
        copied = offsite_copy(record)
        db.session.commit()
        _echo_offsite(record)
        if not copied:
            raise SystemExit(1)


def _echo_offsite(record: BackupRecord) -> None:
    if record.offsite_status == "copied":
        click.echo(f"#{record.id} copied off-site to {record.offsite_remote} "
                   f"({record.offsite_size} bytes)")
    else:
        click.echo(f"#{record.id} off-site copy FAILED: {record.offsite_error}", err=True)


def _record_from_remote(filename: str) -> BackupRecord:
    """Fetch `filename` from BACKUP_REMOTE into BACKUP_DIR and return its record: the one
    the database still has, or (a lost database) one made from the verified archive."""
    from app.backups.offsite import OffsiteError, offsite_fetch
    from app.backups.verify import verify_archive

    try:
        archive = offsite_fetch(filename)
    except OffsiteError as error:
        raise click.ClickException(f"nothing restored: {error.message}") from None
    click.echo(f"fetched {filename} from the remote ({archive.stat().st_size} bytes)")
    record = db.session.scalar(select(BackupRecord).where(BackupRecord.filename == filename))
    if record is None:
        try:
            extracted, message = verify_archive(archive)
        except (ArchiveError, SnapshotError) as error:
            raise click.ClickException(f"nothing restored: {error.message}") from None
        manifest = extracted.manifest
        record = BackupRecord(
            filename=filename, size=archive.stat().st_size, sha256=extracted.sha256,
            schema_revision=manifest["schema_revision"], database=manifest["database"],
            manifest=manifest, status="verified", verify_message=message[:2000],
            created_at=datetime.fromisoformat(manifest["created_at"]))
        db.session.add(record)
    record.removed_at = None  # the archive is back in BACKUP_DIR
    db.session.commit()
    return record


@backup_cli.command("restore")
@click.argument("backup_id", type=int, required=False)
@click.option("--from-remote", "remote_file", metavar="FILENAME",
              help="Fetch this archive from BACKUP_REMOTE first (see `flask backup remote`).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(backup_id: int | None, remote_file: str | None, yes: bool) -> None:
    """Replace the database and files with a backup (verified first). Stop the app first."""
    from app.backups.restore import RestoreError, check_revision, restore_backup

    if remote_file:
        record = _record_from_remote(remote_file)
    elif backup_id is not None:
        record = _record(backup_id, False)
    else:
        raise click.UsageError("give a backup ID or --from-remote FILENAME")
    try:
        check_revision(record.schema_revision)
    except RestoreError as error:
        raise click.ClickException(error.message) from None
    if not yes:
        question = (f"Replace the database and files with backup #{record.id} "
                    f"({to_wib(record.created_at):%Y-%m-%d %H:%M} WIB)?")
        db.session.rollback()  # hold no transaction (SQLite: no lock) while a person decides
        click.confirm(question, abort=True)
    try:
        result = restore_backup(record)
    except (RestoreError, ArchiveError, SnapshotError) as error:
        db.session.rollback()
        raise click.ClickException(f"nothing restored: {error.message}") from None
    click.echo(f"Restored {result['filename']}: {result['rows']} rows, "
               f"{result['files']} files. Run `flask db upgrade` if the code is newer.")


@backup_cli.command("rotate")
def rotate() -> None:
    """Delete the archives the rotation does not keep, here and on BACKUP_REMOTE."""
    from app.backups.offsite import OffsiteError, offsite_remote, offsite_rotate
    from app.backups.rotation import rotate_backups

    result = rotate_backups()
    db.session.commit()
    click.echo(f"kept {result['kept']}, removed {len(result['removed'])}")
    if offsite_remote():
        try:
            remote = offsite_rotate()
        except OffsiteError as error:
            db.session.rollback()
            raise click.ClickException(f"off-site rotation failed: {error.message}") from None
        db.session.commit()
        click.echo(f"off-site: kept {remote['kept']}, removed {len(remote['removed'])}")


@backup_cli.command("offsite")
@click.argument("backup_id", type=int, required=False)
@click.option("--latest", is_flag=True, help="Copy the newest backup.")
def offsite(backup_id: int | None, latest: bool) -> None:
    """Copy a verified backup to BACKUP_REMOTE with rclone (again, if it was already)."""
    from app.backups.offsite import offsite_copy, offsite_remote

    if not offsite_remote():
        raise click.ClickException("BACKUP_REMOTE is not set (see README, Backups)")
    record = _record(backup_id, latest)
    copied = offsite_copy(record)
    db.session.commit()
    _echo_offsite(record)
    if not copied:
        raise SystemExit(1)


@backup_cli.command("remote")
def remote() -> None:
    """List the archives on BACKUP_REMOTE."""
    from app.backups.offsite import OffsiteError, remote_listing

    try:
        listing = remote_listing()
    except OffsiteError as error:
        raise click.ClickException(error.message) from None
    for name, size in sorted(listing.items(), reverse=True):
        click.echo(f"{name}\t{size}")


@backup_cli.command("new-key")
def new_key() -> None:
    """Print a fresh BACKUP_KEY (keep it safe: without it no backup can be read)."""
    from app.backups.archive import new_key as make

    click.echo(make())
