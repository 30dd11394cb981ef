"""The stock ledger: one row per change of a variant's stock."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum, nonmember

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.clock import UTCDateTime, utcnow
from app.extensions import Model


class StockReason(StrEnum):
    RESTOCK = "restock"
    ADJUSTMENT = "adjustment"
    SALE = "sale"
    CANCEL = "cancel"
    RETURN = "return"
    EXPIRE = "expire"  # an unpaid order cancelled because its payment expired or was denied
    PRODUCTION = "production"  # finished maklon goods moved into a store's variant
    USAGE = "usage"  # raw material used outside a batch (samples, spills)
    CONSUME = "consume"  # raw material consumed by a maklon batch entering formulation
    ALL = nonmember((RESTOCK, ADJUSTMENT, SALE, CANCEL, RETURN, EXPIRE, PRODUCTION, USAGE,
                     CONSUME))


class StockMovement(Model):
    """One change of a variant's stock or of a raw material's on-hand quantity."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_variant_time", "variant_id", "created_at"),
        Index("ix_stock_movements_material_time", "raw_material_id", "created_at"),
        CheckConstraint("(variant_id IS NULL) <> (raw_material_id IS NULL)",
                        name="one_subject"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("variants.id", ondelete="CASCADE"), nullable=True)
    raw_material_id: Mapped[int | None] = mapped_column(
        ForeignKey("raw_materials.id", ondelete="CASCADE"), nullable=True)
    delta: Mapped[int] = mapped_column(Integer)
    stock_after: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(120), default="")
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User | None] = relationship()
