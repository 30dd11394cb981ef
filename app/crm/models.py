"""CRM tables: contacts, leads (pipeline), tasks, activities, digest log.

`Company` lives in `app.accounts.models` (it becomes the maklon client when a deal is won).
Statuses are plain strings with their allowed transitions spelled out as tables here; the
services refuse anything else (409).
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum, nonmember

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import Company, User
from app.core.clock import UTCDateTime, utcnow
from app.extensions import Model


class LeadStatus(StrEnum):
    NEW = "new"
    CONTACTED = "contacted"
    QUALIFIED = "qualified"
    PROPOSAL = "proposal"
    WON = "won"
    LOST = "lost"
    # The board's columns, in order.
    PIPELINE = nonmember((NEW, CONTACTED, QUALIFIED, PROPOSAL, WON, LOST))
    OPEN = nonmember(frozenset({NEW, CONTACTED, QUALIFIED, PROPOSAL}))
    FINAL = nonmember(frozenset({WON, LOST}))


# Allowed moves. Forward one step at a time; back one step from Contacted, Qualified and
# Proposal (a prospect who went quiet); Lost from any open stage (with a reason); Won only
# from Proposal. Won and Lost are final: a returning prospect is a new lead.
LEAD_TRANSITIONS: dict[str, frozenset[str]] = {
    LeadStatus.NEW: frozenset({LeadStatus.CONTACTED, LeadStatus.LOST}),
    LeadStatus.CONTACTED: frozenset({LeadStatus.QUALIFIED, LeadStatus.NEW, LeadStatus.LOST}),
    LeadStatus.QUALIFIED: frozenset(
        {LeadStatus.PROPOSAL, LeadStatus.CONTACTED, LeadStatus.LOST}
    ),
    LeadStatus.PROPOSAL: frozenset({LeadStatus.WON, LeadStatus.QUALIFIED, LeadStatus.LOST}),
    LeadStatus.WON: frozenset(),
    LeadStatus.LOST: frozenset(),
}


class LeadSource(StrEnum):
    WEBSITE_FORM = "website_form"
    EXHIBITION = "exhibition"
    REFERRAL = "referral"
    MARKETPLACE_SELLER = "marketplace_seller"
    OTHER = "other"
    ALL = nonmember((WEBSITE_FORM, EXHIBITION, REFERRAL, MARKETPLACE_SELLER, OTHER))


class TaskStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    ALL = nonmember((OPEN, IN_PROGRESS, DONE))
    ACTIVE = nonmember((OPEN, IN_PROGRESS))


TASK_TRANSITIONS: dict[str, frozenset[str]] = {
    TaskStatus.OPEN: frozenset({TaskStatus.IN_PROGRESS, TaskStatus.DONE}),
    TaskStatus.IN_PROGRESS: frozenset({TaskStatus.OPEN, TaskStatus.DONE}),
    TaskStatus.DONE: frozenset({TaskStatus.OPEN}),  # reopen
}


class TaskPriority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    ALL = nonmember((LOW, NORMAL, HIGH))


class AssignmentReason(StrEnum):
    """Why a task's assignee differs from the person it was given to (see assignment.py)."""

    REASSIGNED = "reassigned"  # the chosen person had too many active tasks
    NOBODY_AVAILABLE = "nobody_available"  # ... and nobody of the same position could take it


class ActivityKind(StrEnum):
    CALL = "call"
    MEETING = "meeting"
    EMAIL = "email"
    NOTE = "note"
    LOGGED = nonmember((CALL, MEETING, EMAIL, NOTE))  # what a user logs by hand
    STATUS = "status"  # pipeline move / task status change
    ASSIGNMENT = "assignment"
    ALL = nonmember((CALL, MEETING, EMAIL, NOTE, STATUS, ASSIGNMENT))


class Contact(Model):
    __tablename__ = "crm_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(120), index=True)
    family_name: Mapped[str] = mapped_column(String(120), default="")
    birth_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    position: Mapped[str] = mapped_column(String(120), default="")
    phone: Mapped[str] = mapped_column(String(30), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    whatsapp: Mapped[str] = mapped_column(String(30), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    company: Mapped[Company | None] = relationship()

    @property
    def full_name(self) -> str:
        return f"{self.name} {self.family_name}".strip()


class Lead(Model):
    """A sales opportunity moving through the pipeline (LEAD_TRANSITIONS).

    A lead may name a prospect that is not a company record yet (`company_name`,
    `contact_*`, e.g. from the public interest form); winning it creates or links the
    `Company` and marks it a client."""

    __tablename__ = "crm_leads"
    __table_args__ = (Index("ix_crm_leads_status_owner", "status", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default=LeadStatus.NEW)
    source: Mapped[str] = mapped_column(String(30), default=LeadSource.OTHER)
    estimated_value: Mapped[int] = mapped_column(BigInteger, default=0)  # Rupiah
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), nullable=True, index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    company_name: Mapped[str] = mapped_column(String(160), default="")
    contact_name: Mapped[str] = mapped_column(String(120), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    lost_reason: Mapped[str] = mapped_column(Text, default="")
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    company: Mapped[Company | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    owner: Mapped[User | None] = relationship()

    @property
    def display_company(self) -> str:
        return self.company.name if self.company else self.company_name


class Task(Model):
    __tablename__ = "crm_tasks"
    __table_args__ = (
        Index("ix_crm_tasks_assignee_status", "assignee_id", "status"),
        Index("ix_crm_tasks_assignee_assigned", "assignee_id", "assigned_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    priority: Mapped[str] = mapped_column(String(10), default=TaskPriority.NORMAL)
    status: Mapped[str] = mapped_column(String(20), default=TaskStatus.OPEN)
    # The related record: at most one of these (a maklon order joins them later).
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="SET NULL"), nullable=True, index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="SET NULL"), nullable=True, index=True
    )
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_leads.id", ondelete="SET NULL"), nullable=True, index=True
    )
    assignee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Set by the auto-assignment rule: who it was meant for, why, and that person's load.
    requested_assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    assignment_reason: Mapped[str | None] = mapped_column(String(30), nullable=True)
    assignment_load: Mapped[int | None] = mapped_column(Integer, nullable=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    assignee: Mapped[User] = relationship(foreign_keys=[assignee_id])
    requested_assignee: Mapped[User | None] = relationship(foreign_keys=[requested_assignee_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    company: Mapped[Company | None] = relationship()
    contact: Mapped[Contact | None] = relationship()
    lead: Mapped[Lead | None] = relationship()

    @property
    def is_active(self) -> bool:
        return self.status in TaskStatus.ACTIVE


class Activity(Model):
    """Something that happened on a CRM record: a call, meeting, email, note, or a status
    change / assignment recorded by the services. Attached to one or more records."""

    __tablename__ = "crm_activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    company_id: Mapped[int | None] = mapped_column(
        ForeignKey("companies.id", ondelete="CASCADE"), nullable=True, index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_contacts.id", ondelete="CASCADE"), nullable=True, index=True
    )
    lead_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_leads.id", ondelete="CASCADE"), nullable=True, index=True
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("crm_tasks.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User | None] = relationship()


class TaskDigestLog(Model):
    """One daily task digest sent to one person for one WIB date (so it is never sent
    twice on the same day, whoever runs the job)."""

    __tablename__ = "crm_task_digests"
    __table_args__ = (UniqueConstraint("user_id", "digest_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    digest_date: Mapped[date] = mapped_column(Date)
    task_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
