"""Move the stored files between the local disk and an S3-compatible bucket.

    flask storage migrate --to s3       every key under STORAGE_ROOT into S3_BUCKET
    flask storage migrate --to local    the reverse

Both ends come from the configuration (STORAGE_ROOT and the S3_* settings), whatever
STORAGE_BACKEND says, so the usual order is: migrate with the web nodes still on `local`,
switch STORAGE_BACKEND to `s3` and restart, migrate once more (it only copies what is new).

Idempotent: a key already at the target with the same size and SHA-256 is left alone; a
copied key is read back from the target and its size and SHA-256 compared. The source is
never changed. Counts are reported; a key that failed makes the command exit 1.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import click
from flask.cli import AppGroup

from app.core.storage import (
    CHUNK,
    Backend,
    S3Backend,
    s3_backend,
    storage_backend,
    stream_sha256,
)

log = logging.getLogger(__name__)
storage_cli = AppGroup("storage", help="Stored files (local disk or S3 bucket).")


@dataclass
class MigrateReport:
    copied: int = 0
    present: int = 0  # already at the target, same size and SHA-256
    failed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.copied + self.present + len(self.failed)


def _target_digest(target: Backend, key: str) -> tuple[int, str] | None:
    """(size, SHA-256) of the target's copy; None when there is none. A bucket object
    written by the app carries its SHA-256 in its metadata; others are read back."""
    stored = target.stat(key)
    if stored is None:
        return None
    if isinstance(target, S3Backend):
        recorded = target.sha256(key)
        if recorded:
            return stored.size, recorded
    with target.open(key) as stream:
        return stream_sha256(stream)


def _copy(source: Backend, target: Backend,
          key: str, size: int, sha256: str) -> None:
    handle, name = tempfile.mkstemp(prefix="racik-migrate-")
    temporary = Path(name)
    try:
        with os.fdopen(handle, "wb") as out, source.open(key) as stream:
            while chunk := stream.read(CHUNK):
                out.write(chunk)
        target.write_file(key, temporary, move=True)
    finally:
        temporary.unlink(missing_ok=True)
    with target.open(key) as stream:  # read back: what arrived is what was sent
        arrived = stream_sha256(stream)
    if arrived != (size, sha256):
        raise RuntimeError(f"copy differs: {arrived[0]} bytes, sha256 {arrived[1]}")


def storage_migrate(source: Backend,
                    target: Backend) -> MigrateReport:
    """Copy every key of `source` that `target` lacks (or holds differently)."""
    report = MigrateReport()
    for key in source.list_keys():
        try:
            with source.open(key) as stream:
                size, sha256 = stream_sha256(stream)
            if _target_digest(target, key) == (size, sha256):
                report.present += 1
                continue
            _copy(source, target, key, size, sha256)
            report.copied += 1
        except Exception as error:  # one bad file must not stop the others; counted
            log.error("storage migrate: %s failed: %s", key, error)
            report.failed.append(key)
    return report


@storage_cli.command("migrate")
@click.option("--to", "to", type=click.Choice(["s3", "local"]), required=True,
              help="Where the files go: s3 (from STORAGE_ROOT) or local (from S3_BUCKET).")
def migrate_command(to: str) -> None:
    """Copy every stored file to the other backend (idempotent, verified)."""
    try:
        bucket = s3_backend()
    except RuntimeError as error:
        raise click.ClickException(f"{error} (the S3_* settings name the bucket)") from None
    local = storage_backend(kind="local")
    source, target = (local, bucket) if to == "s3" else (bucket, local)
    click.echo(f"Copying from {source.name} to {target.name} …")
    report = storage_migrate(source, target)
    click.echo(f"{report.total} files: {report.copied} copied, {report.present} already "
               f"there, {len(report.failed)} failed.")
    for key in report.failed:
        click.echo(f"  failed: {key}", err=True)
    if report.failed:
        raise SystemExit(1)
