"""CRM writes. Services flush, never commit; the route, job or CLI commits once.

Errors: `CrmError` is bad input a form shows at a field (422); `TransitionRefused` is an
illegal state change (409 with its message).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Company, RoleName, User
from app.audit.services import audit_record
from app.core.clock import to_wib, utcnow
from app.core.db import rowcount
from app.core.http import public_url
from app.core.mail import mail_queue
from app.core.settings import setting_set
from app.crm.assignment import SETTING_THRESHOLD, task_assign, team_lock
from app.crm.events import task_assigned_announce
from app.crm.models import (
    LEAD_TRANSITIONS,
    TASK_TRANSITIONS,
    Activity,
    ActivityKind,
    Contact,
    Lead,
    LeadSource,
    LeadStatus,
    Task,
    TaskDigestLog,
    TaskPriority,
    TaskStatus,
)
from app.crm.webhooks import SETTING_SECRET, SETTING_URL, webhook_notify
from app.extensions import db

log = logging.getLogger(__name__)

LEAD_STATUS_LABELS: dict[str, Any] = {
    LeadStatus.NEW: _l("Baru"),
    LeadStatus.CONTACTED: _l("Dihubungi"),
    LeadStatus.QUALIFIED: _l("Memenuhi syarat"),
    LeadStatus.PROPOSAL: _l("Proposal"),
    LeadStatus.WON: _l("Menang"),
    LeadStatus.LOST: _l("Kalah"),
}
TASK_STATUS_LABELS: dict[str, Any] = {
    TaskStatus.OPEN: _l("Terbuka"),
    TaskStatus.IN_PROGRESS: _l("Dikerjakan"),
    TaskStatus.DONE: _l("Selesai"),
}


class CrmError(Exception):
    """A business rule refused the input; `field` names the form field to blame."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class TransitionRefused(CrmError):
    """An illegal state change (HTTP 409)."""


@dataclass(frozen=True)
class CompanyDetails:
    name: str
    business_type: str = ""
    city: str = ""
    npwp: str = ""
    address: str = ""
    website: str = ""
    notes: str = ""
    employee_count: int | None = None


@dataclass(frozen=True)
class ContactDetails:
    name: str
    company_id: int | None = None
    family_name: str = ""
    birth_date: date | None = None
    position: str = ""
    phone: str = ""
    email: str = ""
    whatsapp: str = ""
    notes: str = ""


@dataclass(frozen=True)
class LeadDetails:
    title: str
    source: str = LeadSource.OTHER
    estimated_value: int = 0
    company_id: int | None = None
    contact_id: int | None = None
    company_name: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    notes: str = ""
    owner_id: int | None = None


BIRTH_DATE_MIN = date(1900, 1, 1)


def _clean(value: str | None) -> str:
    return (value or "").strip()


# -- companies and contacts --------------------------------------------------------------

EMPLOYEE_COUNT_MAX = 10_000_000


def employee_count_check(count: int | None) -> None:
    """Raise CrmError unless `count` is empty or 0..EMPLOYEE_COUNT_MAX (forms, API, CSV)."""
    if count is not None and count < 0:
        raise CrmError(str(_l("Jumlah karyawan tidak boleh negatif.")), field="employee_count")
    if count is not None and count > EMPLOYEE_COUNT_MAX:
        raise CrmError(str(_l("Jumlah karyawan maksimal %(max)s.", max=EMPLOYEE_COUNT_MAX)),
                       field="employee_count")


def birth_date_check(birth_date: date | None) -> None:
    """Raise CrmError for a birth date in the future (WIB) or before 1900."""
    if birth_date is None:
        return
    if birth_date > wib_today():
        raise CrmError(str(_l("Tanggal lahir tidak boleh di masa depan.")), field="birth_date")
    if birth_date < BIRTH_DATE_MIN:
        raise CrmError(str(_l("Tanggal lahir tidak boleh sebelum tahun 1900.")),
                       field="birth_date")


def company_save(*, details: CompanyDetails, company: Company | None = None) -> Company:
    """Create a company (or update `company`) from `details`.

    Raises CrmError for a negative or absurd employee count."""
    count = details.employee_count
    employee_count_check(count)
    if company is None:
        company = Company()
        db.session.add(company)
    for name, value in details.__dict__.items():
        if name != "employee_count":
            setattr(company, name, _clean(value))
    company.employee_count = count
    db.session.flush()
    return company


def _company_or_error(company_id: int | None, field: str = "company_id", *,
                     share_lock: bool = False) -> Company | None:
    """The company, or CrmError at `field`. `share_lock` (for a lead's company): a delete of
    the company running meanwhile either waits for this transaction (and then sees the open
    lead) or went first (and this finds no company)."""
    if company_id is None:
        return None
    if share_lock:
        company = db.session.scalars(select(Company).where(Company.id == company_id)
                                     .with_for_update(read=True)).first()
    else:
        company = db.session.get(Company, company_id)
    if company is None:
        raise CrmError(str(_l("Perusahaan tidak ditemukan.")), field=field)
    return company


def contact_save(*, details: ContactDetails, contact: Contact | None = None) -> Contact:
    """Create a contact (or update `contact`). Raises CrmError for an unknown company or a
    birth date in the future."""
    _company_or_error(details.company_id)
    birth_date_check(details.birth_date)
    if contact is None:
        contact = Contact()
        db.session.add(contact)
    contact.company_id = details.company_id
    contact.birth_date = details.birth_date
    for name in ("name", "family_name", "position", "phone", "email", "whatsapp", "notes"):
        setattr(contact, name, _clean(getattr(details, name)))
    contact.email = contact.email.lower()
    db.session.flush()
    return contact


# -- activities ---------------------------------------------------------------------------

def activity_log(
    *,
    kind: str,
    author: User | None,
    subject: str = "",
    body: str = "",
    occurred_at: datetime | None = None,
    company_id: int | None = None,
    contact_id: int | None = None,
    lead_id: int | None = None,
    task_id: int | None = None,
) -> Activity:
    """Record an activity on one or more CRM records (at least one)."""
    if kind not in ActivityKind.ALL:
        raise CrmError(str(_l("Jenis aktivitas tidak valid.")), field="kind")
    if not any((company_id, contact_id, lead_id, task_id)):
        raise ValueError("an activity needs a record")
    activity = Activity(
        kind=kind, subject=_clean(subject)[:300], body=_clean(body),
        occurred_at=occurred_at or utcnow(), author_id=author.id if author else None,
        company_id=company_id, contact_id=contact_id, lead_id=lead_id, task_id=task_id,
    )
    db.session.add(activity)
    db.session.flush()
    return activity


def activity_log_on(*, record: object, kind: str, author: User | None, subject: str = "",
                    body: str = "", occurred_at: datetime | None = None) -> Activity:
    """Log an activity on a Company, Contact, Lead or Task, linking its parents too (an
    activity on a contact also shows on its company's timeline)."""
    links: dict[str, int | None] = {}
    if isinstance(record, Company):
        links = {"company_id": record.id}
    elif isinstance(record, Contact):
        links = {"contact_id": record.id, "company_id": record.company_id}
    elif isinstance(record, Lead):
        links = {"lead_id": record.id, "company_id": record.company_id,
                 "contact_id": record.contact_id}
    elif isinstance(record, Task):
        links = {"task_id": record.id, "company_id": record.company_id,
                 "contact_id": record.contact_id, "lead_id": record.lead_id}
    else:
        raise TypeError(f"not a CRM record: {record!r}")
    return activity_log(kind=kind, author=author, subject=subject, body=body,
                        occurred_at=occurred_at, **links)


def contact_email_send(*, contact: Contact, subject: str, body: str, actor: User) -> Activity:
    """Email a contact through the outbox and log it as an activity.

    Raises CrmError when the contact has no email address."""
    if not contact.email:
        raise CrmError(str(_l("Kontak ini belum memiliki alamat email.")), field="subject")
    mail_queue(to=contact.email, template="crm_contact_email", subject=_clean(subject),
               body=_clean(body), sender_name=actor.name, contact_name=contact.name)
    return activity_log_on(record=contact, kind=ActivityKind.EMAIL, author=actor,
                           subject=subject, body=body)


# -- leads --------------------------------------------------------------------------------

def _apply_lead(lead: Lead, details: LeadDetails) -> None:
    if details.source not in LeadSource.ALL:
        raise CrmError(str(_l("Sumber tidak valid.")), field="source")
    if details.estimated_value < 0:
        raise CrmError(str(_l("Nilai tidak boleh negatif.")), field="estimated_value")
    company = _company_or_error(details.company_id, share_lock=True)
    contact = None
    if details.contact_id is not None:
        contact = db.session.get(Contact, details.contact_id)
        if contact is None:
            raise CrmError(str(_l("Kontak tidak ditemukan.")), field="contact_id")
    if details.owner_id is not None:
        owner = db.session.get(User, details.owner_id)
        if owner is None or not owner.active or not owner.has_any_role(RoleName.STAFF,
                                                                         RoleName.ADMIN):
            raise CrmError(str(_l("Pemilik harus staf atau admin yang aktif.")),
                           field="owner_id")
    if company is None and contact is not None and contact.company_id:
        company = contact.company
    lead.title = _clean(details.title)
    lead.source = details.source
    lead.estimated_value = int(details.estimated_value)
    lead.company_id = company.id if company else None
    lead.contact_id = contact.id if contact else None
    lead.company_name = _clean(details.company_name) or (company.name if company else "")
    lead.contact_name = _clean(details.contact_name)
    lead.contact_email = _clean(details.contact_email).lower()
    lead.contact_phone = _clean(details.contact_phone)
    lead.notes = _clean(details.notes)
    lead.owner_id = details.owner_id


def lead_create(*, details: LeadDetails, actor: User | None) -> Lead:
    """Create a lead in stage New and tell the webhook (after commit)."""
    lead = Lead(status=LeadStatus.NEW)
    _apply_lead(lead, details)
    db.session.add(lead)
    db.session.flush()
    activity_log_on(record=lead, kind=ActivityKind.STATUS, author=actor,
                    subject=_id_text(_l("Prospek dibuat")))
    webhook_notify(event="lead.created", lead_id=lead.id)
    log.info("lead %s created (source %s)", lead.id, lead.source)
    return lead


def lead_update(*, lead: Lead, details: LeadDetails) -> Lead:
    _apply_lead(lead, details)
    db.session.flush()
    return lead


def lead_transition_check(lead: Lead, status: str) -> None:
    """Raise TransitionRefused unless LEAD_TRANSITIONS allows `lead.status` -> `status`."""
    if status not in LEAD_TRANSITIONS:
        raise TransitionRefused(str(_l("Status tujuan tidak dikenal.")))
    if status not in LEAD_TRANSITIONS[lead.status]:
        raise TransitionRefused(str(_l(
            "Prospek berstatus %(current)s tidak dapat dipindah ke %(target)s.",
            current=LEAD_STATUS_LABELS[lead.status], target=LEAD_STATUS_LABELS[status],
        )))


def lead_move(*, lead: Lead, status: str, actor: User | None, lost_reason: str = "") -> Lead:
    """Move a lead through the pipeline (LEAD_TRANSITIONS) and record the move.

    Lost needs a reason (CrmError on `lost_reason`). Won creates or links the client
    company (see `lead_win`). Raises TransitionRefused for a move the table forbids."""
    lead_transition_check(lead, status)
    if status == LeadStatus.LOST and not _clean(lost_reason):
        raise CrmError(str(_l("Alasan kalah wajib diisi.")), field="lost_reason")
    previous = lead.status
    lead.status = status
    lead.updated_at = utcnow()
    body = ""
    if status == LeadStatus.LOST:
        lead.lost_reason = _clean(lost_reason)
        body = lead.lost_reason
    if status in LeadStatus.FINAL:
        lead.closed_at = utcnow()
    if status == LeadStatus.WON:
        lead_win(lead=lead)
    db.session.flush()
    with force_locale("id"):
        subject = str(_l("Status: %(old)s → %(new)s", old=LEAD_STATUS_LABELS[previous],
                         new=LEAD_STATUS_LABELS[status]))
    activity_log_on(record=lead, kind=ActivityKind.STATUS, author=actor, subject=subject,
                    body=body)
    if status == LeadStatus.WON:
        webhook_notify(event="lead.won", lead_id=lead.id)
    return lead


def lead_win(*, lead: Lead) -> Company:
    """Create or link the lead's company and mark it a maklon client; create its contact
    from the lead's contact fields when it has none. Flushes only."""
    company = lead.company
    if company is None:
        name = _clean(lead.company_name) or _clean(lead.contact_name) or lead.title
        company = db.session.scalars(
            select(Company).where(func.lower(Company.name) == name.lower()).order_by(Company.id)
        ).first()
        if company is None:
            company = company_save(details=CompanyDetails(name=name))
        lead.company = company
        lead.company_id = company.id
    company.is_client = True
    if lead.contact is None and lead.contact_name:
        contact = contact_save(details=ContactDetails(
            name=lead.contact_name, company_id=company.id, email=lead.contact_email,
            phone=lead.contact_phone))
        lead.contact = contact
        lead.contact_id = contact.id
    elif lead.contact is not None and lead.contact.company_id is None:
        lead.contact.company_id = company.id
    db.session.flush()
    return company


def interest_submit(*, name: str, company_name: str, email: str, phone: str,
                    product_type: str, message: str) -> Lead:
    """The public "Ajukan Maklon" form: a lead from the website, owner not yet chosen."""
    details = LeadDetails(
        title=str(_id_text(_l("Ajukan Maklon: %(company)s", company=_clean(company_name)))),
        source=LeadSource.WEBSITE_FORM,
        company_name=company_name,
        contact_name=name,
        contact_email=email,
        contact_phone=phone,
        notes="\n\n".join(part for part in (_clean(product_type), _clean(message)) if part),
    )
    return lead_create(details=details, actor=None)


def _id_text(text) -> str:
    """A lazy string rendered in Indonesian: what is stored in records stays in the source
    language whoever triggers it."""
    with force_locale("id"):
        return str(text)


# -- tasks --------------------------------------------------------------------------------

def task_assignee_check(user: User | None) -> User:
    if user is None or not user.active or not user.has_any_role(RoleName.STAFF, RoleName.ADMIN):
        raise CrmError(str(_l("Tugas hanya dapat diberikan kepada staf atau admin yang aktif.")),
                       field="assignee_id")
    return user


def task_create(
    *,
    title: str,
    assignee: User | None,
    actor: User,
    description: str = "",
    due_date: date | None = None,
    priority: str = "normal",
    company_id: int | None = None,
    contact_id: int | None = None,
    lead_id: int | None = None,
) -> Task:
    """Create a task and assign it with the fairness rule (see assignment.py).

    Only staff and admins assign tasks (the actor), and only to staff or admins."""
    if not actor.has_any_role(RoleName.STAFF, RoleName.ADMIN):
        raise CrmError(str(_l("Hanya staf atau admin yang dapat memberi tugas.")),
                       field="assignee_id")
    assignee = task_assignee_check(assignee)
    if due_date is not None and due_date < wib_today():
        raise CrmError(str(_l("Tenggat tidak boleh sebelum hari ini.")), field="due_date")
    if priority not in TaskPriority.ALL:
        raise CrmError(str(_l("Prioritas tidak valid.")), field="priority")
    _related_check(company_id, contact_id, lead_id)
    _company_or_error(company_id)
    if contact_id is not None and db.session.get(Contact, contact_id) is None:
        raise CrmError(str(_l("Kontak tidak ditemukan.")), field="title")
    if lead_id is not None and db.session.get(Lead, lead_id) is None:
        raise CrmError(str(_l("Prospek tidak ditemukan.")), field="title")
    team_lock(assignee)  # before the insert: see team_lock
    task = Task(title=_clean(title), description=_clean(description), due_date=due_date,
                priority=priority, status=TaskStatus.OPEN, company_id=company_id,
                contact_id=contact_id, lead_id=lead_id, created_by_id=actor.id,
                assignee_id=assignee.id)
    db.session.add(task)
    db.session.flush()
    outcome = task_assign(task=task, assignee=assignee, actor=actor)
    # After the commit: the assignee's email and Telegram notice (app/crm/events.py).
    task_assigned_announce(task, previous_assignee_id=None, reason=outcome.reason)
    return task


def task_move(*, task: Task, status: str, actor: User) -> Task:
    """Change a task's status per TASK_TRANSITIONS; raises TransitionRefused otherwise."""
    if status not in TASK_TRANSITIONS:
        raise TransitionRefused(str(_l("Status tujuan tidak dikenal.")))
    if status not in TASK_TRANSITIONS[task.status]:
        raise TransitionRefused(str(_l(
            "Tugas berstatus %(current)s tidak dapat diubah ke %(target)s.",
            current=TASK_STATUS_LABELS[task.status], target=TASK_STATUS_LABELS[status],
        )))
    previous = task.status
    task.status = status
    task.completed_at = utcnow() if status == TaskStatus.DONE else None
    db.session.flush()
    with force_locale("id"):
        subject = str(_l("Status: %(old)s → %(new)s", old=TASK_STATUS_LABELS[previous],
                         new=TASK_STATUS_LABELS[status]))
    activity_log_on(record=task, kind=ActivityKind.STATUS, author=actor, subject=subject)
    return task


@dataclass(frozen=True)
class TaskDetails:
    """Every field of a task a person edits (status has its own path: task_move)."""

    title: str
    assignee_id: int
    description: str = ""
    due_date: date | None = None
    priority: str = TaskPriority.NORMAL
    company_id: int | None = None
    contact_id: int | None = None
    lead_id: int | None = None


def _related_check(*ids: int | None) -> None:
    """A task is on at most one record (company, contact or lead)."""
    if sum(value is not None for value in ids) > 1:
        raise CrmError(str(_l("Pilih satu catatan terkait saja.")), field="related")


def task_update(*, task: Task, details: TaskDetails, actor: User) -> int | None:
    """Edit a task's fields. Returns the previous assignee's id when the assignee changed
    (then `task_assigned` is sent once the transaction commits), else None.

    A due date may stay in the past, but a changed one may not be before today; the related
    record is at most one of company, contact or lead, and must exist; the assignee is an
    active staff member or admin (the fairness rule is for new tasks only: a person chosen
    by hand on edit is who the editor meant). Raises CrmError (422)."""
    title = _clean(details.title)
    if not title:
        raise CrmError(str(_l("Wajib diisi.")), field="title")
    if details.due_date is not None and details.due_date != task.due_date \
            and details.due_date < wib_today():
        raise CrmError(str(_l("Tenggat tidak boleh sebelum hari ini.")), field="due_date")
    if details.priority not in TaskPriority.ALL:
        raise CrmError(str(_l("Prioritas tidak valid.")), field="priority")
    _related_check(details.company_id, details.contact_id, details.lead_id)
    _company_or_error(details.company_id, field="related")
    if details.contact_id is not None and db.session.get(Contact, details.contact_id) is None:
        raise CrmError(str(_l("Kontak tidak ditemukan.")), field="related")
    if details.lead_id is not None and db.session.get(Lead, details.lead_id) is None:
        raise CrmError(str(_l("Prospek tidak ditemukan.")), field="related")
    previous = task.assignee_id
    if details.assignee_id != previous:
        assignee = task_assignee_check(db.session.get(User, details.assignee_id))
        team_lock(assignee)
    task.title = title
    task.description = _clean(details.description)
    task.due_date = details.due_date
    task.priority = details.priority
    task.company_id, task.contact_id, task.lead_id = (
        details.company_id, details.contact_id, details.lead_id)
    if details.assignee_id == previous:
        db.session.flush()
        return None
    task.assignee_id = details.assignee_id
    task.assigned_at = utcnow()
    task.requested_assignee_id = None
    task.assignment_reason = None
    task.assignment_load = None
    db.session.flush()
    new = db.session.get_one(User, details.assignee_id)
    old = db.session.get(User, previous) if previous is not None else None
    with force_locale("id"):
        subject = str(_l("Dialihkan dari %(old)s ke %(new)s",
                         old=old.name if old else "—", new=new.name))
    activity_log_on(record=task, kind=ActivityKind.ASSIGNMENT, author=actor, subject=subject)
    task_assigned_announce(task, previous_assignee_id=previous, reason=None)
    return previous


# -- archive, restore, delete -------------------------------------------------------------
#
# Who: staff and admins archive and delete (the CRM's users); only a CRM manager restores
# an archived record. The CRM manager is the admin role (DESIGN.md: the owner runs the
# system; there is no separate sales-manager role). Deleting is audited with what the record
# held; a company with open leads, or one that is a maklon client with requests, formulas
# or users, cannot be deleted, only archived. Status and assignment activities are the
# records' history: they cannot be edited or deleted (only call/meeting/email/note).

class DeleteRefused(TransitionRefused):
    """A rule keeps the record (HTTP 409): archive it instead."""


class ManagerOnly(CrmError):
    """Only a CRM manager (admin) may do this (HTTP 403)."""


class RecordGone(CrmError):
    """Someone deleted the record meanwhile (HTTP 404)."""


CRM_MANAGER_ROLES = (RoleName.ADMIN,)
RECORD_KINDS: dict[type, str] = {Company: "company", Contact: "contact", Lead: "lead",
                                 Task: "task", Activity: "activity"}
ARCHIVABLE = (Company, Contact, Lead, Task)


def crm_manager(user: User | None) -> bool:
    """True for who may restore archived CRM records (see the rule above)."""
    return bool(user is not None and user.is_authenticated
                and user.has_any_role(*CRM_MANAGER_ROLES))


def _snapshot(record: object) -> dict:
    """The record's columns as JSON-able values (for the audit row of a delete)."""
    values = {}
    for column in record.__table__.columns:  # type: ignore[attr-defined]
        value = getattr(record, column.key)
        values[column.key] = value.isoformat() if isinstance(value, date | datetime) else value
    return values


def _archived_set(record: Company | Contact | Lead | Task, *, archived: bool) -> bool:
    """Set or clear `archived_at` with a conditional UPDATE (so two people archiving at once
    make one change and one conflict); False when the record was not in the other state."""
    model = type(record)
    condition = model.archived_at.is_(None) if archived else model.archived_at.is_not(None)
    changed = rowcount(db.session.execute(
        update(model).where(model.id == record.id, condition)
        .values(archived_at=utcnow() if archived else None)
        .execution_options(synchronize_session=False)))
    db.session.refresh(record)
    return bool(changed)


def record_archive(*, record: Company | Contact | Lead | Task, actor: User) -> None:
    """Hide a record from lists and the board (kept whole; a manager restores it).

    Raises TransitionRefused (409) when it is archived already."""
    if not _archived_set(record, archived=True):
        raise TransitionRefused(str(_l("Data ini sudah diarsipkan.")))
    audit_record("crm.archive", actor=actor, object_type=RECORD_KINDS[type(record)],
                 object_id=record.id)
    db.session.flush()


def record_restore(*, record: Company | Contact | Lead | Task, actor: User) -> None:
    """Bring an archived record back. Raises ManagerOnly (403) unless the actor is a CRM
    manager, TransitionRefused (409) when the record is not archived."""
    if not crm_manager(actor):
        raise ManagerOnly(str(_l("Hanya manajer CRM (admin) yang dapat memulihkan data "
                                 "yang diarsipkan.")))
    if not _archived_set(record, archived=False):
        raise TransitionRefused(str(_l("Data ini tidak diarsipkan.")))
    audit_record("crm.restore", actor=actor, object_type=RECORD_KINDS[type(record)],
                 object_id=record.id)
    db.session.flush()


def record_delete_check(record: object) -> None:
    """Raise DeleteRefused (409) when a rule keeps `record`; see the rule above."""
    if isinstance(record, Company):
        open_leads = db.session.scalar(select(func.count()).select_from(Lead).where(
            Lead.company_id == record.id, Lead.status.in_(LeadStatus.OPEN)))
        if open_leads:
            raise DeleteRefused(str(_l(
                "Perusahaan ini masih memiliki %(count)s prospek terbuka dan tidak dapat "
                "dihapus. Arsipkan saja, atau tutup prospeknya dulu.", count=open_leads)))
    if isinstance(record, Activity) and record.kind not in ActivityKind.LOGGED:
        raise DeleteRefused(str(_l("Riwayat status dan penugasan tidak dapat dihapus.")))


_ACTIVITY_LINKS = ("company_id", "contact_id", "lead_id", "task_id")


def _keep_shared_activities(column: str, record_id: int) -> None:
    """Activities of the deleted record that also belong to another record stay on that
    one's timeline (the foreign key would cascade them away): unlink them first."""
    others = [getattr(Activity, name).is_not(None) for name in _ACTIVITY_LINKS
              if name != column]
    for activity in db.session.scalars(select(Activity).where(
            getattr(Activity, column) == record_id, or_(*others))):
        setattr(activity, column, None)
    db.session.flush()


def record_delete(*, record: Company | Contact | Lead | Task | Activity, actor: User) -> None:
    """Delete a record for good, audited with what it held. Raises DeleteRefused (409) for
    a company with open leads, a maklon client's company (requests, formulas or users refer
    to it) and status/assignment activities."""
    model = type(record)
    # The row lock (PostgreSQL; SQLite's BEGIN IMMEDIATE serialises anyway) makes a lead
    # created for this company meanwhile wait or be seen, and a second delete find nothing.
    if db.session.scalar(select(model.id).where(model.id == record.id)
                         .with_for_update()) is None:
        raise RecordGone(str(_l("Data ini sudah dihapus.")))
    db.session.refresh(record)
    record_delete_check(record)
    kind = RECORD_KINDS[model]
    snapshot = _snapshot(record)
    record_id = record.id
    if not isinstance(record, Activity):
        _keep_shared_activities(f"{kind}_id", record_id)
    try:
        with db.session.begin_nested():
            db.session.delete(record)
            db.session.flush()
    except IntegrityError:
        # A maklon request or formula holds the company (ON DELETE RESTRICT).
        raise DeleteRefused(str(_l(
            "Perusahaan ini klien maklon dengan permintaan atau formula dan tidak dapat "
            "dihapus. Arsipkan saja."))) from None
    audit_record("crm.delete", actor=actor, object_type=kind, object_id=record_id,
                 before=snapshot)
    db.session.flush()
    log.info("crm %s %s deleted by user %s", kind, record_id, actor.id)


def activity_update(*, activity: Activity, kind: str, subject: str, body: str,
                    occurred_at: datetime | None) -> Activity:
    """Edit a hand-logged activity (call, meeting, email, note). Raises DeleteRefused (409)
    for status and assignment history, CrmError (422) for bad input."""
    if activity.kind not in ActivityKind.LOGGED:
        raise DeleteRefused(str(_l("Riwayat status dan penugasan tidak dapat diubah.")))
    if kind not in ActivityKind.LOGGED:
        raise CrmError(str(_l("Jenis aktivitas tidak valid.")), field="kind")
    if not _clean(subject):
        raise CrmError(str(_l("Wajib diisi.")), field="subject")
    activity.kind = kind
    activity.subject = _clean(subject)[:300]
    activity.body = _clean(body)
    if occurred_at is not None:
        activity.occurred_at = occurred_at
    db.session.flush()
    return activity


def wib_today() -> date:
    return to_wib(utcnow()).date()


def task_digest_send(*, today: date | None = None) -> dict[str, int]:
    """Email every person with tasks due today or overdue (WIB) one digest per day.

    Idempotent: a `TaskDigestLog` row per (person, WIB date) is written in the same
    transaction as the outbox email, so a second run the same day sends nothing."""
    today = today or wib_today()
    rows = db.session.scalars(
        select(Task)
        .join(User, User.id == Task.assignee_id)
        .where(Task.status.in_(TaskStatus.ACTIVE), Task.archived_at.is_(None),
               Task.due_date.is_not(None),
               Task.due_date <= today, User.active.is_(True))
        .order_by(Task.assignee_id, Task.due_date, Task.id)
    ).all()
    by_person: dict[int, list[Task]] = {}
    for task in rows:
        by_person.setdefault(task.assignee_id, []).append(task)
    already = set(db.session.scalars(
        select(TaskDigestLog.user_id).where(TaskDigestLog.digest_date == today)
    ))
    sent = skipped = 0
    for user_id, tasks in by_person.items():
        if user_id in already:
            skipped += 1
            continue
        person = tasks[0].assignee
        try:
            with db.session.begin_nested():
                db.session.add(TaskDigestLog(user_id=user_id, digest_date=today,
                                             task_count=len(tasks)))
        except IntegrityError:  # another run got there first
            skipped += 1
            continue
        mail_queue(
            to=person.email, template="crm_task_digest", locale=person.locale,
            subject=_l("Tugas Anda hari ini: %(count)s jatuh tempo atau terlambat",
                       count=len(tasks)),
            user_name=person.name, today=today,
            # due_date is never None here (the query above), said again for the checker
            overdue=[t for t in tasks if t.due_date is not None and t.due_date < today],
            due_today=[t for t in tasks if t.due_date == today],
            task_urls={t.id: public_url("crm.task_detail", task_id=t.id) for t in tasks},
            tasks_url=public_url("crm.tasks"),
        )
        sent += 1
    log.info("task digest for %s: %s sent, %s already sent", today, sent, skipped)
    return {"sent": sent, "skipped": skipped}


# -- settings and team --------------------------------------------------------------------

def crm_settings_save(*, threshold: int, webhook_url: str, webhook_secret: str | None,
                      actor: User) -> None:
    """Store the CRM settings; `webhook_secret=None` keeps the current secret."""
    if not 1 <= threshold <= 1000:
        raise CrmError(str(_l("Masukkan angka 1 sampai 1000.")), field="threshold")
    setting_set(key=SETTING_THRESHOLD, value=int(threshold), actor=actor)
    setting_set(key=SETTING_URL, value=_clean(webhook_url), actor=actor)
    if webhook_secret is not None:
        setting_set(key=SETTING_SECRET, value=_clean(webhook_secret), actor=actor)


def staff_position_set(*, user: User, position: str | None) -> User:
    from app.accounts.models import StaffPosition

    if position is not None and position not in StaffPosition.ALL:
        raise CrmError(str(_l("Posisi tidak valid.")), field="position")
    if not user.has_role(RoleName.STAFF):
        raise CrmError(str(_l("Posisi hanya untuk staf.")), field="position")
    user.position = position
    db.session.flush()
    return user
