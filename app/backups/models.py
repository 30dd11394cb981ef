"""Backup tables: the backups made (one row per archive, with its manifest, its last
verification and its off-site copy). The table name is unchanged since the backups moved
out of app.reports (no migration)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum, nonmember
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import UTCDateTime, utcnow
from app.extensions import Model


class BackupStatus(StrEnum):
    CREATED = "created"  # written, not verified yet
    VERIFIED = "verified"  # the last verification passed
    FAILED = "failed"  # the last verification failed (see verify_message)
    ALL = nonmember((CREATED, VERIFIED, FAILED))


class BackupRecord(Model):
    """One encrypted backup archive in BACKUP_DIR and what its manifest says."""

    __tablename__ = "backup_records"
    __table_args__ = (Index("ix_backup_records_created", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200), unique=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")  # of the encrypted archive
    schema_revision: Mapped[str] = mapped_column(String(60), default="")
    database: Mapped[str] = mapped_column(String(20), default="")  # sqlite | postgresql
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # counts, sizes
    status: Mapped[str] = mapped_column(String(20), default=BackupStatus.CREATED)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    verify_message: Mapped[str] = mapped_column(Text, default="")
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)  # rotated
    scheduled: Mapped[bool] = mapped_column(Boolean, default=False)  # by the nightly job
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The off-site copy (BACKUP_REMOTE, app/backups/offsite.py): the last attempt's
    # outcome ("" none yet, copied, failed), when, where to, the size found there, the
    # error; offsite_removed_at once the remote's rotation deleted it.
    offsite_status: Mapped[str] = mapped_column(String(20), default="", server_default="")
    offsite_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    offsite_remote: Mapped[str] = mapped_column(String(300), default="", server_default="")
    offsite_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    offsite_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    offsite_removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
