"""CRM reads: searches, the board, task lists and record timelines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select

from app.accounts.models import Company, Role, RoleName, User, user_roles
from app.crm.models import Activity, ActivityKind, Contact, Lead, LeadStatus, Task, TaskStatus
from app.extensions import db

PAGE_SIZE = 20


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.lower()}%"


def _archived(stmt: Select, model, archived: bool) -> Select:
    """Archived records only with `archived=True`; by default the live ones."""
    column = model.archived_at
    return stmt.where(column.is_not(None) if archived else column.is_(None))


def company_search(*, q: str = "", city: str = "", business_type: str = "",
                   client: str = "", archived: bool = False) -> Select:
    stmt = _archived(select(Company).order_by(Company.name, Company.id), Company, archived)
    if q:
        pattern = _like(q)
        stmt = stmt.where(or_(func.lower(Company.name).like(pattern, escape="\\"),
                              func.lower(Company.npwp).like(pattern, escape="\\")))
    if city:
        stmt = stmt.where(func.lower(Company.city) == city.lower())
    if business_type:
        stmt = stmt.where(func.lower(Company.business_type) == business_type.lower())
    if client == "yes":
        stmt = stmt.where(Company.is_client.is_(True))
    elif client == "no":
        stmt = stmt.where(Company.is_client.is_(False))
    return stmt


@dataclass(frozen=True)
class CompanyDetail:
    company: Company
    contacts: list[Contact]
    leads: list[Lead]


def company_get(company_id: int) -> Company | None:
    """The one lookup of a company by id (archived too), for the web and the API alike.
    CRM records belong to the team, not to one staff member: every CRM role (staff, admin)
    reads every company, and the routes' role check is the whole ownership rule; an unknown
    id is None (404 on both paths)."""
    return db.session.scalar(select(Company).where(Company.id == company_id))


def company_detail(company_id: int) -> CompanyDetail | None:
    """One company (archived too) with its live contacts (by name) and leads (newest
    first): the web's detail page and the API's answer read this one query."""
    company = company_get(company_id)
    if company is None:
        return None
    contacts = db.session.scalars(
        select(Contact).where(Contact.company_id == company.id, Contact.archived_at.is_(None))
        .order_by(Contact.name, Contact.id)).all()
    leads = db.session.scalars(
        select(Lead).where(Lead.company_id == company.id, Lead.archived_at.is_(None))
        .order_by(Lead.id.desc())).all()
    return CompanyDetail(company=company, contacts=list(contacts), leads=list(leads))


def activity_list(*, company_id: int | None = None, contact_id: int | None = None,
                  lead_id: int | None = None, task_id: int | None = None,
                  kind: str = "") -> Select:
    """Activities, newest first, narrowed to the records named."""
    stmt = select(Activity).order_by(Activity.occurred_at.desc(), Activity.id.desc())
    for column, value in ((Activity.company_id, company_id), (Activity.contact_id, contact_id),
                          (Activity.lead_id, lead_id), (Activity.task_id, task_id)):
        if value:
            stmt = stmt.where(column == value)
    if kind:
        stmt = stmt.where(Activity.kind == kind)
    return stmt


def company_cities() -> list[str]:
    return list(db.session.scalars(
        select(Company.city).where(Company.city != "").distinct().order_by(Company.city)))


def company_business_types() -> list[str]:
    return list(db.session.scalars(
        select(Company.business_type).where(Company.business_type != "").distinct()
        .order_by(Company.business_type)))


def contact_search(*, q: str = "", company_id: int | None = None,
                   archived: bool = False) -> Select:
    stmt = _archived(select(Contact).order_by(Contact.name, Contact.id), Contact, archived)
    if q:
        pattern = _like(q)
        stmt = stmt.outerjoin(Company, Company.id == Contact.company_id).where(or_(
            func.lower(Contact.name).like(pattern, escape="\\"),
            func.lower(Contact.family_name).like(pattern, escape="\\"),
            func.lower(Contact.email).like(pattern, escape="\\"),
            Contact.phone.like(pattern, escape="\\"),
            func.lower(Company.name).like(pattern, escape="\\"),
        ))
    if company_id:
        stmt = stmt.where(Contact.company_id == company_id)
    return stmt


def lead_search(*, q: str = "", status: str = "", owner_id: int | None = None,
                source: str = "", archived: bool = False) -> Select:
    stmt = _archived(select(Lead).order_by(Lead.updated_at.desc(), Lead.id.desc()), Lead,
                     archived)
    if q:
        pattern = _like(q)
        stmt = stmt.where(or_(func.lower(Lead.title).like(pattern, escape="\\"),
                              func.lower(Lead.company_name).like(pattern, escape="\\"),
                              func.lower(Lead.contact_name).like(pattern, escape="\\")))
    if status in LeadStatus.PIPELINE:
        stmt = stmt.where(Lead.status == status)
    if owner_id:
        stmt = stmt.where(Lead.owner_id == owner_id)
    if source:
        stmt = stmt.where(Lead.source == source)
    return stmt


@dataclass(frozen=True)
class BoardColumn:
    status: str
    leads: list[Lead]
    total_value: int


def lead_board(*, owner_id: int | None = None, q: str = "", limit: int = 50) -> list[BoardColumn]:
    """The Kanban board: one column per pipeline stage, newest activity first."""
    columns = []
    for status in LeadStatus.PIPELINE:
        stmt = lead_search(q=q, status=status, owner_id=owner_id)
        leads = list(db.session.scalars(stmt.limit(limit)))
        total_stmt = select(func.coalesce(func.sum(Lead.estimated_value), 0)).where(
            Lead.status == status, Lead.archived_at.is_(None))
        if owner_id:
            total_stmt = total_stmt.where(Lead.owner_id == owner_id)
        columns.append(BoardColumn(status=status, leads=leads,
                                   total_value=int(db.session.scalar(total_stmt) or 0)))
    return columns


def assignable_users() -> list[User]:
    """Active staff and admins: who may own leads and receive tasks."""
    return list(db.session.scalars(
        select(User)
        .join(user_roles, user_roles.c.user_id == User.id)
        .join(Role, Role.id == user_roles.c.role_id)
        .where(Role.name.in_((RoleName.STAFF, RoleName.ADMIN)), User.active.is_(True))
        .order_by(User.name, User.id)
    ).unique())


def staff_members() -> list[User]:
    return list(db.session.scalars(
        select(User)
        .join(user_roles, user_roles.c.user_id == User.id)
        .join(Role, Role.id == user_roles.c.role_id)
        .where(Role.name == RoleName.STAFF)
        .order_by(User.name, User.id)
    ).unique())


def task_list(*, assignee_id: int | None = None, status: str = "active",
              archived: bool = False) -> Select:
    """Tasks, most urgent first (no due date last)."""
    stmt = _archived(select(Task).order_by(Task.due_date.is_(None), Task.due_date, Task.id),
                     Task, archived)
    if assignee_id is not None:
        stmt = stmt.where(Task.assignee_id == assignee_id)
    if status == "active":
        stmt = stmt.where(Task.status.in_(TaskStatus.ACTIVE))
    elif status in TaskStatus.ALL:
        stmt = stmt.where(Task.status == status)
    return stmt


def active_task_counts() -> dict[int, int]:
    return dict(db.session.execute(
        select(Task.assignee_id, func.count())
        .where(Task.status.in_(TaskStatus.ACTIVE), Task.archived_at.is_(None))
        .group_by(Task.assignee_id)
    ).all())


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime
    kind: str  # an ActivityKind, or "task", "lead", "contact"
    title: str
    body: str = ""
    author: str = ""
    url_endpoint: str = ""
    url_id: int | None = None
    activity_id: int | None = None  # a hand-logged activity: editable and deletable


def _belongs_to(model: Any, **record_ids: int | None) -> list[Any]:
    """`model.<record>_id == id` for each record id given (None or 0 left out): the rows
    of `model` that belong to any of those records, for `or_(...)`."""
    return [getattr(model, column) == value for column, value in record_ids.items() if value]


def _activity_entries(*, company_id: int | None, contact_id: int | None,
                      lead_id: int | None, task_id: int | None,
                      limit: int) -> list[TimelineEntry]:
    """The record's activities, each linked to the most specific other record it belongs
    to; the hand-logged ones are editable."""
    conditions = _belongs_to(Activity, company_id=company_id, contact_id=contact_id,
                             lead_id=lead_id, task_id=task_id)
    entries: list[TimelineEntry] = []
    activities = db.session.scalars(
        select(Activity).where(or_(*conditions))
        .order_by(Activity.occurred_at.desc(), Activity.id.desc()).limit(limit)
    )
    for activity in activities:
        endpoint, record_id = "", None
        if activity.task_id and not task_id:
            endpoint, record_id = "crm.task_detail", activity.task_id
        elif activity.lead_id and not lead_id:
            endpoint, record_id = "crm.lead_detail", activity.lead_id
        elif activity.contact_id and not contact_id:
            endpoint, record_id = "crm.contact_detail", activity.contact_id
        entries.append(TimelineEntry(
            when=activity.occurred_at, kind=activity.kind, title=activity.subject,
            body=activity.body, author=activity.author.name if activity.author else "",
            url_endpoint=endpoint, url_id=record_id,
            activity_id=activity.id if activity.kind in ActivityKind.LOGGED else None,
        ))
    return entries


def _task_entries(*, company_id: int | None, contact_id: int | None, lead_id: int | None,
                  limit: int) -> list[TimelineEntry]:
    """The tasks of a company, contact or lead."""
    task_conditions = _belongs_to(Task, company_id=company_id, contact_id=contact_id,
                                  lead_id=lead_id)
    return [TimelineEntry(when=task.created_at, kind="task", title=task.title,
                          author=task.assignee.name, url_endpoint="crm.task_detail",
                          url_id=task.id)
            for task in db.session.scalars(select(Task).where(or_(*task_conditions))
                                           .limit(limit))]


def _record_entries(*, company_id: int | None,
                    contact_id: int | None) -> list[TimelineEntry]:
    """A company's leads and contacts; a contact's leads."""
    entries: list[TimelineEntry] = []
    if company_id:
        for lead in db.session.scalars(select(Lead).where(Lead.company_id == company_id)):
            entries.append(TimelineEntry(when=lead.created_at, kind="lead", title=lead.title,
                                         url_endpoint="crm.lead_detail", url_id=lead.id))
        for contact in db.session.scalars(
                select(Contact).where(Contact.company_id == company_id)):
            entries.append(TimelineEntry(when=contact.created_at, kind="contact",
                                         title=contact.name, url_endpoint="crm.contact_detail",
                                         url_id=contact.id))
    if contact_id:
        for lead in db.session.scalars(select(Lead).where(Lead.contact_id == contact_id)):
            entries.append(TimelineEntry(when=lead.created_at, kind="lead", title=lead.title,
                                         url_endpoint="crm.lead_detail", url_id=lead.id))
    return entries


def timeline(*, company_id: int | None = None, contact_id: int | None = None,
             lead_id: int | None = None, task_id: int | None = None,
             limit: int = 100) -> list[TimelineEntry]:
    """Everything related to one record, newest first: activities, and for companies,
    contacts and leads their tasks, leads and contacts."""
    entries = _activity_entries(company_id=company_id, contact_id=contact_id,
                                lead_id=lead_id, task_id=task_id, limit=limit)
    if task_id is None:
        entries += _task_entries(company_id=company_id, contact_id=contact_id,
                                 lead_id=lead_id, limit=limit)
    entries += _record_entries(company_id=company_id, contact_id=contact_id)
    entries.sort(key=lambda entry: entry.when, reverse=True)
    return entries[:limit]
