"""CRM writes. Services flush, never commit; the route, job or CLI commits once.

Errors: `CrmError` is bad input a form shows at a field (422); `TransitionRefused` is an
illegal state change (409 with its message).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.accounts.models import Company, RoleName, User
from app.core.clock import to_wib, utcnow
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
    TaskStatus,
)
from app.crm.webhooks import SETTING_SECRET, SETTING_URL, webhook_notify
from app.extensions import db

log = logging.getLogger(__name__)

LEAD_STATUS_LABELS = {
    LeadStatus.NEW: _l("Baru"),
    LeadStatus.CONTACTED: _l("Dihubungi"),
    LeadStatus.QUALIFIED: _l("Memenuhi syarat"),
    LeadStatus.PROPOSAL: _l("Proposal"),
    LeadStatus.WON: _l("Menang"),
    LeadStatus.LOST: _l("Kalah"),
}
TASK_STATUS_LABELS = {
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


@dataclass(frozen=True)
class ContactDetails:
    name: str
    company_id: int | None = None
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


def _clean(value: str | None) -> str:
    return (value or "").strip()


# -- companies and contacts --------------------------------------------------------------

def company_save(*, details: CompanyDetails, company: Company | None = None) -> Company:
    """Create a company (or update `company`) from `details`."""
    if company is None:
        company = Company()
        db.session.add(company)
    for name, value in details.__dict__.items():
        setattr(company, name, _clean(value))
    db.session.flush()
    return company


def _company_or_error(company_id: int | None, field: str = "company_id") -> Company | None:
    if company_id is None:
        return None
    company = db.session.get(Company, company_id)
    if company is None:
        raise CrmError(str(_l("Perusahaan tidak ditemukan.")), field=field)
    return company


def contact_save(*, details: ContactDetails, contact: Contact | None = None) -> Contact:
    """Create a contact (or update `contact`). Raises CrmError for an unknown company."""
    _company_or_error(details.company_id)
    if contact is None:
        contact = Contact()
        db.session.add(contact)
    contact.company_id = details.company_id
    for name in ("name", "position", "phone", "email", "whatsapp", "notes"):
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
    company = _company_or_error(details.company_id)
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
    assignee: User,
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
    task_assignee_check(assignee)
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
        .where(Task.status.in_(TaskStatus.ACTIVE), Task.due_date.is_not(None),
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
            overdue=[t for t in tasks if t.due_date < today],
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
