"""The audit log: one append-only row per security- or money-relevant action.

Rows are never updated, and deleted only once archived: database triggers (made in
migration 0007, PostgreSQL and SQLite) refuse an UPDATE of `audit_entries`, and a DELETE of a
row not covered by an `AuditArchive` (its `last_id`). The archive job writes old rows to a
compressed file in storage (with its SHA-256) before it deletes them, so nothing is dropped
silently.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import UTCDateTime, utcnow
from app.extensions import Model

if TYPE_CHECKING:  # for the type checker only: no import arrow at run time
    from app.accounts.models import User


class AuditEntry(Model):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_created", "created_at", "id"),
        Index("ix_audit_entries_action_created", "action", "created_at"),
        Index("ix_audit_entries_object", "object_type", "object_id"),
        Index("ix_audit_entries_actor_created", "actor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # "auth.login", "auth.login_failed", "user.roles", "settings.change", "order.status",
    # "payment.status", "stock.adjust", ... (see app.audit.services.ACTIONS)
    action: Mapped[str] = mapped_column(String(60))
    # RESTRICT: a user with audit rows is deactivated, never deleted (SET NULL would be an
    # UPDATE, which the append-only trigger refuses anyway).
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=True)
    # Who it was, as text: survives the user's rename or removal (None actor: the system).
    actor_label: Mapped[str] = mapped_column(String(320), default="")
    object_type: Mapped[str] = mapped_column(String(40), default="")
    object_id: Mapped[str] = mapped_column(String(60), default="")
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    note: Mapped[str] = mapped_column(String(300), default="")

    # By name, not import: audit sits below accounts' users in no import (accounts audits).
    actor: Mapped[User | None] = relationship("User")


class AuditArchive(Model):
    """One archived run of audit rows (ids first_id..last_id), kept as a file."""

    __tablename__ = "audit_archives"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_id: Mapped[int] = mapped_column(Integer)
    last_id: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
    rows: Mapped[int] = mapped_column(Integer)
    file_key: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
