"""CRM, read only, for staff and admins (like the web CRM at /crm).

    GET /crm/leads                  leads (q, status, owner, source filters; pages)
    GET /crm/leads/<lead_id>        one lead
    GET /crm/tasks                  tasks (assignee, status; pages), most urgent first
    GET /crm/companies              companies (q, city, type, client filters; pages)
    GET /crm/companies/<company_id> one company with its contacts and leads

The searches are the web's (`app.crm.queries`): lead_search, task_list, company_search.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field
from sqlalchemy import Select, func, select

from app.accounts.models import Company, RoleName
from app.api import bp
from app.api.errors import ApiError
from app.api.schemas import CompanyRef, Id, Output, Page, PageQuery, Text
from app.api.spec import operation, page_of
from app.crm import queries
from app.crm.forms import PRIORITY_LABELS, SOURCE_LABELS
from app.crm.models import Contact, Lead, LeadSource, LeadStatus, Task, TaskStatus
from app.crm.services import LEAD_STATUS_LABELS, TASK_STATUS_LABELS
from app.extensions import db

TAG = "CRM"
STAFF = (RoleName.STAFF, RoleName.ADMIN)

LeadStatusName = Literal[LeadStatus.PIPELINE]  # type: ignore[valid-type]
LeadSourceName = Literal[LeadSource.ALL]  # type: ignore[valid-type]
TaskStatusFilter = Literal[("active", "all", *TaskStatus.ALL)]  # type: ignore[valid-type]


class LeadQuery(PageQuery):
    q: Text(200) = Field("", description="In the title, company or contact name.")
    status: LeadStatusName | None = None
    owner: Id | None = Field(None, description="The owner's user id.")
    source: LeadSourceName | None = None


class TaskQuery(PageQuery):
    assignee: Id | None = Field(None, description="The assignee's user id (default: all).")
    status: TaskStatusFilter = Field("active", description="active (open or in progress), "
                                                           "all, or one status.")


class CompanyQuery(PageQuery):
    q: Text(200) = Field("", description="In the name or NPWP.")
    city: Text(80) = ""
    type: Text(80) = Field("", description="Business type.")
    client: Literal["", "yes", "no"] = Field("", description="yes: maklon clients only.")


class UserRef(Output):
    id: int
    name: str


class LeadOut(Output):
    id: int
    title: str
    status: str
    status_label: str
    source: str
    source_label: str
    estimated_value: int
    company: CompanyRef | None
    company_name: str = Field(description="The company record's name, else the name typed.")
    contact_name: str
    owner: UserRef | None
    created_at: datetime
    updated_at: datetime


class LeadDetailOut(LeadOut):
    contact_id: int | None
    contact_email: str
    contact_phone: str
    notes: str
    lost_reason: str
    closed_at: datetime | None


class TaskOut(Output):
    id: int
    title: str
    description: str
    status: str
    status_label: str
    priority: str
    priority_label: str
    due_date: date | None
    overdue: bool
    assignee: UserRef
    company_id: int | None
    contact_id: int | None
    lead_id: int | None
    created_at: datetime
    completed_at: datetime | None


class CompanyOut(Output):
    id: int
    name: str
    business_type: str
    city: str
    npwp: str
    is_client: bool
    created_at: datetime


class ContactOut(Output):
    id: int
    name: str
    position: str
    email: str
    phone: str
    whatsapp: str


class CompanyLeadOut(Output):
    id: int
    title: str
    status: str
    status_label: str
    estimated_value: int


class CompanyDetailOut(CompanyOut):
    address: str
    website: str
    notes: str
    updated_at: datetime
    contacts: list[ContactOut]
    leads: list[CompanyLeadOut]


def _page(stmt: Select, query: PageQuery) -> tuple[list, int]:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(query.per_page)
                              .offset((query.page - 1) * query.per_page)).all()
    return list(rows), int(total or 0)


def _lead(lead: Lead) -> dict:
    return {"id": lead.id, "title": lead.title, "status": lead.status,
            "status_label": str(LEAD_STATUS_LABELS.get(lead.status, lead.status)),
            "source": lead.source, "source_label": str(SOURCE_LABELS.get(lead.source,
                                                                         lead.source)),
            "estimated_value": lead.estimated_value,
            "company": CompanyRef(id=lead.company.id, name=lead.company.name)
            if lead.company else None,
            "company_name": lead.display_company, "contact_name": lead.contact_name,
            "owner": UserRef(id=lead.owner.id, name=lead.owner.name) if lead.owner else None,
            "created_at": lead.created_at, "updated_at": lead.updated_at}


@operation(bp, "/crm/leads", "GET", tag=TAG, summary="Leads (search and filters as on the "
           "web)", query=LeadQuery, response=Page[LeadOut], roles=STAFF)
def crm_leads(query: LeadQuery):
    stmt = queries.lead_search(q=query.q, status=query.status or "", owner_id=query.owner,
                               source=query.source or "")
    rows, total = _page(stmt, query)
    return page_of([_lead(lead) for lead in rows], total, query, LeadOut)


@operation(bp, "/crm/leads/<id:lead_id>", "GET", tag=TAG, summary="One lead",
           response=LeadDetailOut, roles=STAFF)
def crm_lead_get(lead_id: int):
    lead = db.session.get(Lead, lead_id)
    if lead is None:
        raise ApiError(404)
    return LeadDetailOut(**_lead(lead), contact_id=lead.contact_id,
                         contact_email=lead.contact_email, contact_phone=lead.contact_phone,
                         notes=lead.notes, lost_reason=lead.lost_reason,
                         closed_at=lead.closed_at)


def _task(task: Task, today: date) -> TaskOut:
    return TaskOut(
        id=task.id, title=task.title, description=task.description, status=task.status,
        status_label=str(TASK_STATUS_LABELS.get(task.status, task.status)),
        priority=task.priority, priority_label=str(PRIORITY_LABELS.get(task.priority,
                                                                       task.priority)),
        due_date=task.due_date,
        overdue=bool(task.is_active and task.due_date and task.due_date < today),
        assignee=UserRef(id=task.assignee.id, name=task.assignee.name),
        company_id=task.company_id, contact_id=task.contact_id, lead_id=task.lead_id,
        created_at=task.created_at, completed_at=task.completed_at)


@operation(bp, "/crm/tasks", "GET", tag=TAG, summary="Tasks, most urgent first",
           query=TaskQuery, response=Page[TaskOut], roles=STAFF)
def crm_tasks(query: TaskQuery):
    """Like the web's task list: `status=active` (the default) is open and in progress;
    `assignee` narrows to one person (the web's "my tasks" is `assignee=<your id>`)."""
    from app.crm.services import wib_today

    stmt = queries.task_list(assignee_id=query.assignee, status=query.status)
    rows, total = _page(stmt, query)
    today = wib_today()
    return page_of([_task(task, today) for task in rows], total, query, TaskOut)


@operation(bp, "/crm/companies", "GET", tag=TAG, summary="Companies (search and filters as "
           "on the web)", query=CompanyQuery, response=Page[CompanyOut], roles=STAFF)
def crm_companies(query: CompanyQuery):
    stmt = queries.company_search(q=query.q, city=query.city, business_type=query.type,
                                  client=query.client)
    rows, total = _page(stmt, query)
    return page_of(rows, total, query, CompanyOut)


@operation(bp, "/crm/companies/<id:company_id>", "GET", tag=TAG, summary="One company with "
           "its contacts and leads", response=CompanyDetailOut, roles=STAFF)
def crm_company_get(company_id: int):
    company = db.session.get(Company, company_id)
    if company is None:
        raise ApiError(404)
    contacts = db.session.scalars(select(Contact).where(Contact.company_id == company.id)
                                  .order_by(Contact.name, Contact.id)).all()
    leads = db.session.scalars(select(Lead).where(Lead.company_id == company.id)
                               .order_by(Lead.id.desc())).all()
    base = CompanyOut.model_validate(company).model_dump()
    return CompanyDetailOut(
        **base, address=company.address, website=company.website, notes=company.notes,
        updated_at=company.updated_at,
        contacts=[ContactOut.model_validate(c) for c in contacts],
        leads=[CompanyLeadOut(id=lead.id, title=lead.title, status=lead.status,
                              status_label=str(LEAD_STATUS_LABELS.get(lead.status,
                                                                      lead.status)),
                              estimated_value=lead.estimated_value) for lead in leads])
