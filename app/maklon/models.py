"""Maklon tables: a client's production request and everything that follows it.

A `MaklonRequest` is the client's quote request and, once its contract is signed, the
maklon *order* (its `number`, stage and milestones). Staff answer it with `Quote` versions
(v1, v2, ...; each keeps its inputs, cost breakdown and the diff against the previous one);
an admin approves a version before the client can sign it (`ContractSignature`). Signing
creates the `MilestonePayment` schedule; each milestone is paid through a `Payment`
(payments.milestone_id) and gets its own `Invoice` (invoices.milestone_id). Production
moves through `ProductionStage` rows (one per stage entered). A `Formula`'s composition is
encrypted at rest (AES-256-GCM, see app.maklon.formula_crypto): the lines (raw material +
amount per produced unit) exist only inside the ciphertext, never as plaintext rows.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum, nonmember
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Company, User
from app.core.clock import UTCDateTime, utcnow
from app.extensions import Model


class ProductType(StrEnum):
    SKINCARE = "skincare"
    BODY_CARE = "body_care"
    HAIR_CARE = "hair_care"
    DECORATIVE = "decorative"  # decorative cosmetics (make-up)
    SUPPLEMENT = "supplement"
    OTHER = "other"
    ALL = nonmember((SKINCARE, BODY_CARE, HAIR_CARE, DECORATIVE, SUPPLEMENT, OTHER))


class Packaging(StrEnum):
    BOTTLE = "bottle"
    JAR = "jar"
    TUBE = "tube"
    AIRLESS = "airless"
    SACHET = "sachet"
    POUCH = "pouch"
    CUSTOM = "custom"  # the client gives the dimensions
    ALL = nonmember((BOTTLE, JAR, TUBE, AIRLESS, SACHET, POUCH, CUSTOM))


class FormulaChoice(StrEnum):
    STORED = "stored"  # one of the company's formulas
    DEVELOP = "develop"  # the provider develops one
    UPLOAD = "upload"  # the client uploads a specification
    ALL = nonmember((STORED, DEVELOP, UPLOAD))


class RequestStatus(StrEnum):
    """A request's life; production progress is `MaklonRequest.stage`."""

    DRAFT = "draft"  # saved by the client, not validated against capability yet
    SUBMITTED = "submitted"  # valid; waiting for staff to quote
    NEGOTIATING = "negotiating"  # at least one quote version exists
    SIGNED = "signed"  # contract signed: a maklon order in production
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    ALL = nonmember((DRAFT, SUBMITTED, NEGOTIATING, SIGNED, COMPLETED, CANCELLED))


class QuoteStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"  # made by staff; an admin must approve it
    APPROVED = "approved"  # the client may sign it (until valid_until)
    SUPERSEDED = "superseded"  # a newer version replaced it
    ACCEPTED = "accepted"  # signed
    ALL = nonmember((PENDING_APPROVAL, APPROVED, SUPERSEDED, ACCEPTED))


class MilestoneKind(StrEnum):
    DP = "dp"  # down payment: unlocks raw-material purchase
    MID = "mid"  # mid-process: unlocks formulation / production
    FINAL = "final"  # unlocks scheduling the shipment
    ALL = nonmember((DP, MID, FINAL))


class MilestoneStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    ALL = nonmember((UNPAID, PAID))


class Stage(StrEnum):
    """Production stages in order; QC failing sends the order back to formulation."""

    CONCEPT_APPROVED = "concept_approved"
    MATERIAL_PURCHASE = "material_purchase"
    FORMULATION = "formulation"
    QC = "qc"
    PACKAGING = "packaging"
    SHIPPING_SCHEDULED = "shipping_scheduled"
    DONE = "done"
    ALL = nonmember((CONCEPT_APPROVED, MATERIAL_PURCHASE, FORMULATION, QC, PACKAGING,
                     SHIPPING_SCHEDULED, DONE))
    # The six stages production goes through; DONE is where it ends, not a seventh stage.
    STEPS = nonmember((CONCEPT_APPROVED, MATERIAL_PURCHASE, FORMULATION, QC, PACKAGING,
                       SHIPPING_SCHEDULED))


class MaterialOrigin(StrEnum):
    LOCAL = "local"
    IMPORT = "import"
    ALL = nonmember((LOCAL, IMPORT))


class ReservationStatus(StrEnum):
    RESERVED = "reserved"  # set aside when the order entered raw-material purchase
    CONSUMED = "consumed"  # used up when it entered formulation
    # Given back by a cancelled order: no path cancels a signed order yet (issue 23: it
    # needs payments to void open milestone payments first), so nothing sets it today.
    RELEASED = "released"
    ALL = nonmember((RESERVED, CONSUMED, RELEASED))


class RawMaterial(Model):
    """A raw material the factory stocks. Quantities are whole base units (g, ml, pcs);
    `reserved` is what signed orders in raw-material purchase have set aside."""

    __tablename__ = "raw_materials"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(30), unique=True)  # "RM-NIA-01"
    name: Mapped[str] = mapped_column(String(120), index=True)
    inci_name: Mapped[str] = mapped_column(String(200), default="")
    unit: Mapped[str] = mapped_column(String(10))  # g | ml | pcs
    on_hand: Mapped[int] = mapped_column(BigInteger, default=0)
    reserved: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    reorder_level: Mapped[int] = mapped_column(BigInteger, default=0)
    origin: Mapped[str] = mapped_column(String(10), default=MaterialOrigin.LOCAL)
    unit_cost: Mapped[Any] = mapped_column(Numeric(14, 4))  # Rupiah per base unit
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class Formula(Model):
    """A company's formula. `composition` is `<key id>:<base64(nonce + AES-256-GCM
    ciphertext)>` of a JSON list of lines ({"material_id", "amount"} per produced unit)."""

    __tablename__ = "formulas"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="RESTRICT"),
                                            index=True)
    name: Mapped[str] = mapped_column(String(120))
    product_type: Mapped[str] = mapped_column(String(20), default=ProductType.OTHER)
    composition: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(40))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    company: Mapped[Company] = relationship()


class MaklonRequest(Model):
    """A client's production request; from signing on, the maklon order."""

    __tablename__ = "maklon_requests"
    __table_args__ = (
        Index("ix_maklon_requests_company_status", "company_id", "status"),
        Index("ix_maklon_requests_status_stage", "status", "stage"),
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)  # MK-2026-000012
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="RESTRICT"))
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"),
                                           index=True)
    status: Mapped[str] = mapped_column(String(20), default=RequestStatus.DRAFT)
    # The specification (a draft may leave any of it empty).
    product_type: Mapped[str] = mapped_column(String(20), default="")
    product_name: Mapped[str] = mapped_column(String(120), default="")
    packaging: Mapped[str] = mapped_column(String(20), default="")
    size: Mapped[int] = mapped_column(Integer, default=0)  # content per unit
    size_unit: Mapped[str] = mapped_column(String(4), default="ml")  # ml | g
    # Custom packaging only, in millimetres.
    length_mm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    width_mm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height_mm: Mapped[int | None] = mapped_column(Integer, nullable=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)  # units in the batch
    formula_choice: Mapped[str] = mapped_column(String(10), default=FormulaChoice.DEVELOP)
    formula_id: Mapped[int | None] = mapped_column(
        ForeignKey("formulas.id", ondelete="RESTRICT"), nullable=True)
    desired_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    # The last estimate shown (inputs + breakdown), so the client's page needs no recompute.
    estimate: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Production (from signing on).
    stage: Mapped[str | None] = mapped_column(String(30), nullable=True)
    promised_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Finished goods moved into the client's store (once).
    goods_moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    goods_variant_id: Mapped[int | None] = mapped_column(
        ForeignKey("variants.id", ondelete="SET NULL"), nullable=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    company: Mapped[Company] = relationship()
    client: Mapped[User] = relationship()
    formula: Mapped[Formula | None] = relationship()
    files: Mapped[list[MaklonFile]] = relationship(back_populates="request",
                                                   order_by="MaklonFile.id")
    quotes: Mapped[list[Quote]] = relationship(back_populates="request",
                                               order_by="Quote.version")
    milestones: Mapped[list[MilestonePayment]] = relationship(
        back_populates="request", order_by="MilestonePayment.position")
    stages: Mapped[list[ProductionStage]] = relationship(back_populates="request",
                                                         order_by="ProductionStage.id")


class MaklonFile(Model):
    """A file attached to a request: the client's specification or a reference."""

    __tablename__ = "maklon_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("maklon_requests.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # spec | reference
    file_key: Mapped[str] = mapped_column(String(200))  # storage key (server-made name)
    filename: Mapped[str] = mapped_column(String(200))  # as uploaded, for display only
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[MaklonRequest] = relationship(back_populates="files")


class Quote(Model):
    """One version of the price offered for a request."""

    __tablename__ = "quotes"
    __table_args__ = (
        UniqueConstraint("request_id", "version", name="uq_quotes_request_version"),
        CheckConstraint("total > 0", name="total_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("maklon_requests.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default=QuoteStatus.PENDING_APPROVAL)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    # What the pricing function was given and what it answered (app.maklon.pricing).
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    breakdown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Milestone split in whole percent, e.g. {"dp": 30, "mid": 40, "final": 30}.
    milestone_split: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    delivery_date: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    # What changed against the previous version: {field: [old, new]}.
    diff: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    approved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[MaklonRequest] = relationship(back_populates="quotes")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])


class QuoteMessage(Model):
    """A message on a request's negotiation thread, optionally a counter-proposal."""

    __tablename__ = "quote_messages"
    __table_args__ = (Index("ix_quote_messages_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("maklon_requests.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    body: Mapped[str] = mapped_column(Text)
    # A counter-proposal (any of them may be given).
    counter_unit_price: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    counter_quantity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    counter_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User] = relationship()


class ContractSignature(Model):
    """The client's acceptance of a quote, with the evidence a court would ask for.

    `signature` = SHA-256(order_id + client_id + timestamp) as the specification says
    (order_id: the request id, client_id: the user id, timestamp: `signed_at_text`, the
    exact ISO-8601 UTC string hashed). `seal` is the platform's Ed25519 signature over
    the canonical evidence (see app.maklon.contracts), so any later change of this row or
    of the PDF is detectable."""

    __tablename__ = "contract_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("maklon_requests.id", ondelete="RESTRICT"), unique=True)
    quote_id: Mapped[int] = mapped_column(ForeignKey("quotes.id", ondelete="RESTRICT"),
                                          unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_at_text: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(64))
    verification_code: Mapped[str] = mapped_column(String(40), unique=True)
    pdf_key: Mapped[str] = mapped_column(String(200))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    user_agent: Mapped[str] = mapped_column(String(400))
    auth_method: Mapped[str] = mapped_column(String(10))  # password | totp | recovery
    seal: Mapped[str] = mapped_column(String(200))  # base64 Ed25519 signature
    seal_key_id: Mapped[str] = mapped_column(String(40))

    request: Mapped[MaklonRequest] = relationship()
    quote: Mapped[Quote] = relationship()
    client: Mapped[User] = relationship()


class MilestonePayment(Model):
    """One part of a signed order's price: DP, mid-process or final."""

    __tablename__ = "milestone_payments"
    __table_args__ = (
        UniqueConstraint("request_id", "kind", name="uq_milestone_payments_request_kind"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("percent > 0 AND percent <= 100", name="percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("maklon_requests.id", ondelete="RESTRICT"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    position: Mapped[int] = mapped_column(Integer)  # 1, 2, 3
    percent: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    # The stage this payment unlocks (Stage.*).
    unlocks_stage: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(10), default=MilestoneStatus.UNPAID)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[MaklonRequest] = relationship(back_populates="milestones")


class ProductionStage(Model):
    """One stage entered by an order: when, by whom, with a note and optional photo."""

    __tablename__ = "production_stages"
    __table_args__ = (Index("ix_production_stages_request", "request_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("maklon_requests.id", ondelete="CASCADE"))
    stage: Mapped[str] = mapped_column(String(30))
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), nullable=True)  # None: the system
    staff_name: Mapped[str] = mapped_column(String(120), default="")  # as it was then
    note: Mapped[str] = mapped_column(Text, default="")
    photo_key: Mapped[str] = mapped_column(String(200), default="")
    # QC only: pass | fail (a fail sends the order back to formulation).
    qc_result: Mapped[str] = mapped_column(String(10), default="")
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    request: Mapped[MaklonRequest] = relationship(back_populates="stages")
    staff: Mapped[User | None] = relationship()


class MaterialReservation(Model):
    """Raw material set aside for (then consumed by) one order's batch."""

    __tablename__ = "material_reservations"
    __table_args__ = (
        UniqueConstraint("request_id", "raw_material_id",
                         name="uq_material_reservations_request_material"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("maklon_requests.id", ondelete="CASCADE"), index=True)
    raw_material_id: Mapped[int] = mapped_column(
        ForeignKey("raw_materials.id", ondelete="RESTRICT"))
    quantity: Mapped[int] = mapped_column(BigInteger)  # base units for the whole batch
    status: Mapped[str] = mapped_column(String(10), default=ReservationStatus.RESERVED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    raw_material: Mapped[RawMaterial] = relationship()


class OtdrSnapshot(Model):
    """The on-time delivery rate as the nightly job computed it, per company and overall
    (`company_id` None): completed orders among the last `window` whose completion date
    (WIB) was on or before their promised date."""

    __tablename__ = "otdr_snapshots"
    __table_args__ = (Index("ix_otdr_snapshots_company_time", "company_id", "computed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), nullable=True)
    on_time: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)
    window: Mapped[int] = mapped_column(Integer)  # the last N completed orders
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
