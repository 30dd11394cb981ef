"""Report tables: the weekly seller reports sent (one per store and ISO week)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import UTCDateTime, utcnow
from app.extensions import Model


class WeeklyReport(Model):
    """The weekly sales report of one store for one ISO week (e.g. "2026-W47"): the row is
    claimed before the email is queued, so running the job twice sends nothing twice."""

    __tablename__ = "weekly_reports"
    __table_args__ = (UniqueConstraint("store_id", "week", name="uq_weekly_reports_store_week"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id", ondelete="CASCADE"))
    week: Mapped[str] = mapped_column(String(8))  # ISO week, "2026-W47"
    figures: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    email_id: Mapped[int | None] = mapped_column(
        ForeignKey("email_outbox.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
