"""Archiving old audit rows: written to a file in storage, then deleted, in one transaction.

    audit_archive()                     rows older than AUDIT_RETENTION_DAYS (default 365)
    audit_archive(older_than_days=30)

Rows are taken as one contiguous id range, from the previous archive's `last_id + 1` to the
largest id older than the cutoff (a row inside the range that happens to be a little newer
goes with it): the append-only trigger lets a row be deleted only when an `AuditArchive`
covers its id, so the ranges must never leave a hole. Each file (at most ARCHIVE_ROWS_MAX
rows; a larger backlog makes several) is gzip-compressed JSON lines, one object per row with
every column, ordered by id, stored under `audit/` with its SHA-256 and size in the
`AuditArchive` row. The run ends with an "audit.archive" audit row of its own (a newer id,
so it stays).

Transactions: this flushes; the caller (the job, the CLI) commits once. When anything fails
the caller rolls back: the rows stay, no `AuditArchive` row is left, and the storage module
removes the file it wrote. Nothing to archive: no file, no row.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select

from app.audit.models import AuditArchive, AuditEntry
from app.audit.services import audit_record
from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.storage import storage_put
from app.extensions import db

log = logging.getLogger(__name__)

ARCHIVE_FOLDER = "audit"
ARCHIVE_SUFFIX = ".jsonl.gz"
ARCHIVE_ROWS_MAX = 100_000  # per file: the file is built in memory
READ_BATCH = 2_000


class ArchiveError(RuntimeError):
    """The archive could not be made consistently (the caller rolls back)."""


def audit_archive(*, older_than_days: int | None = None) -> dict[str, Any]:
    """Archive every audit row older than `older_than_days` (default: the config's
    AUDIT_RETENTION_DAYS). Returns {"archives", "rows", "first_id", "last_id", "files"}.
    Raises ValueError for a negative age and ArchiveError when the rows changed under it."""
    days = current_app.config["AUDIT_RETENTION_DAYS"] if older_than_days is None \
        else older_than_days
    if days < 0:
        raise ValueError("older_than_days must be 0 or more")
    cutoff = utcnow() - timedelta(days=days)
    previous_last = db.session.scalar(select(func.max(AuditArchive.last_id))) or 0
    target_last = db.session.scalar(select(func.max(AuditEntry.id)).where(
        AuditEntry.id > previous_last, AuditEntry.created_at < cutoff))
    result: dict[str, Any] = {"archives": 0, "rows": 0, "first_id": None, "last_id": None,
                              "files": []}
    if target_last is None:
        log.info("audit archive: nothing older than %s days", days)
        return result
    start = previous_last + 1
    archives: list[AuditArchive] = []
    while start <= target_last:
        archive = _archive_chunk(start, target_last)
        if archive is None:
            break
        archives.append(archive)
        start = archive.last_id + 1
    if not archives:
        return result
    result.update(archives=len(archives), rows=sum(a.rows for a in archives),
                  first_id=archives[0].first_id, last_id=archives[-1].last_id,
                  files=[a.file_key for a in archives])
    audit_record("audit.archive", actor=None, object_type="audit_archive",
                 object_id=archives[-1].id,
                 after={"archives": result["archives"], "rows": result["rows"],
                        "first_id": result["first_id"], "last_id": result["last_id"],
                        "older_than_days": days})
    db.session.flush()
    log.info("audit archive: %s rows (ids %s..%s) in %s file(s)", result["rows"],
             result["first_id"], result["last_id"], result["archives"])
    return result


def _archive_chunk(start: int, target_last: int) -> AuditArchive | None:
    """Write rows start.. (at most ARCHIVE_ROWS_MAX, up to target_last) to a file, add its
    AuditArchive row, then delete exactly those rows."""
    table = AuditEntry.__table__
    buffer = io.BytesIO()
    count = 0
    first_id = last_id = None
    first_at = last_at = None
    # mtime=0: the same rows always make the same bytes (and the same SHA-256).
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as archive_file:
        rows = db.session.execute(
            select(table).where(table.c.id >= start, table.c.id <= target_last)
            .order_by(table.c.id).limit(ARCHIVE_ROWS_MAX)
            .execution_options(yield_per=READ_BATCH)).mappings()
        for row in rows:
            archive_file.write(archive_line(dict(row)))
            count += 1
            at = row["created_at"]
            if first_id is None:
                first_id, first_at, last_at = row["id"], at, at
            last_id = row["id"]
            first_at, last_at = min(first_at, at), max(last_at, at)
    if count == 0:
        return None
    data = buffer.getvalue()
    key = storage_put(data, folder=ARCHIVE_FOLDER, suffix=ARCHIVE_SUFFIX)
    archive = AuditArchive(first_id=first_id, last_id=last_id, first_at=first_at,
                           last_at=last_at, rows=count, file_key=key,
                           sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    db.session.add(archive)
    db.session.flush()  # the trigger allows the DELETE only once this row exists
    deleted = rowcount(db.session.execute(
        delete(AuditEntry).where(AuditEntry.id >= start, AuditEntry.id <= last_id)
        .execution_options(synchronize_session=False)))
    if deleted != count:
        # Another run archived (some of) them meanwhile: roll back rather than keep two
        # archives of the same rows or a file of rows that were not deleted.
        raise ArchiveError(f"audit archive: wrote {count} rows but deleted {deleted}")
    return archive


def archive_line(row: dict[str, Any]) -> bytes:
    """One row as a JSON line (datetimes in ISO 8601, UTC)."""
    return (json.dumps(row, ensure_ascii=False, default=_json_value, separators=(",", ":"))
            + "\n").encode()


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to the audit archive")
