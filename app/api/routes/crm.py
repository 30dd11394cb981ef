"""CRM for staff and admins (like the web CRM at /crm): every record read, created, changed,
archived, restored and deleted through the web's services and rules.

    GET/POST           /crm/companies                 list (q, city, type, client, archived)
    GET/PATCH/DELETE   /crm/companies/<company_id>    one company with its contacts and leads
    GET/POST           /crm/contacts                  list (q, company, archived)
    GET/PATCH/DELETE   /crm/contacts/<contact_id>
    GET/POST           /crm/leads                     list (q, status, owner, source, archived)
    GET/PATCH/DELETE   /crm/leads/<lead_id>           PATCH also moves the stage (`status`)
    GET/POST           /crm/tasks                     list (assignee, status, archived)
    GET/PATCH/DELETE   /crm/tasks/<task_id>           PATCH also changes `status`
    GET/POST           /crm/activities                list (company, contact, lead, task, kind)
    GET/PATCH/DELETE   /crm/activities/<activity_id>  calls, meetings, emails and notes

No rule lives here. Searches are `app.crm.queries`; the company detail is the web's
`queries.company_detail`; companies, contacts and leads are checked by the web's forms (the
same formats and messages) and written by `app.crm.services`, which holds every rule:
`PATCH {"archived": true}` archives (`record_archive`), `{"archived": false}` restores (a
CRM manager, i.e. an admin, only: 403 otherwise), DELETE is `record_delete` (audited; 409
for a company with open leads or a maklon client's, and for status history). A refused
write is a 422 naming the field, or a 409, with nothing written. Creates honour
`Idempotency-Key`; every GET carries an ETag.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Annotated, Any, Literal

from flask import url_for
from flask_babel import gettext
from flask_login import current_user
from pydantic import AwareDatetime, Field
from sqlalchemy import Select, func, select
from werkzeug.datastructures import MultiDict

from app.accounts.models import Company, RoleName, User
from app.api import bp
from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.schemas import CompanyRef, Id, Input, Output, Page, PageQuery, Rupiah, trimmed
from app.api.spec import operation, page_of
from app.crm import queries
from app.crm.forms import PRIORITY_LABELS, SOURCE_LABELS, CompanyForm, ContactForm, LeadForm
from app.crm.models import (
    Activity,
    ActivityKind,
    Contact,
    Lead,
    LeadSource,
    LeadStatus,
    Task,
    TaskPriority,
    TaskStatus,
)
from app.crm.services import (
    EMPLOYEE_COUNT_MAX,
    LEAD_STATUS_LABELS,
    TASK_STATUS_LABELS,
    CrmError,
    DeleteRefused,
    ManagerOnly,
    RecordGone,
    TaskDetails,
    TransitionRefused,
    activity_log_on,
    activity_update,
    company_save,
    contact_save,
    lead_create,
    lead_move,
    lead_update,
    record_archive,
    record_delete,
    record_restore,
    task_create,
    task_move,
    task_update,
    wib_today,
)
from app.extensions import db

TAG = "CRM"
STAFF = (RoleName.STAFF, RoleName.ADMIN)
WRITE_ERRORS = (409,)

LeadStatusName = LeadStatus
LeadSourceName = LeadSource
TaskStatusName = TaskStatus
TaskStatusFilter = Literal["active", "all", TaskStatus.OPEN, TaskStatus.IN_PROGRESS,
                           TaskStatus.DONE]
PriorityName = TaskPriority
LoggedKind = Literal[ActivityKind.CALL, ActivityKind.MEETING, ActivityKind.EMAIL,
                     ActivityKind.NOTE]  # ActivityKind.LOGGED
ActivityKindName = ActivityKind
EmployeeCount = Field(None, ge=0, le=EMPLOYEE_COUNT_MAX)
ARCHIVED = Field(False, description="true: the archived records only (default: the live "
                                    "ones).")


# --- queries -----------------------------------------------------------------------------

class LeadQuery(PageQuery):
    q: Annotated[str, trimmed(200)] = Field(
        "", description="In the title, company or contact name.")
    status: LeadStatusName | None = None
    owner: Id | None = Field(None, description="The owner's user id.")
    source: LeadSourceName | None = None
    archived: bool = ARCHIVED


class TaskQuery(PageQuery):
    assignee: Id | None = Field(None, description="The assignee's user id (default: all).")
    status: TaskStatusFilter = Field("active", description="active (open or in progress), "
                                                           "all, or one status.")
    archived: bool = ARCHIVED


class CompanyQuery(PageQuery):
    q: Annotated[str, trimmed(200)] = Field("", description="In the name or NPWP.")
    city: Annotated[str, trimmed(80)] = ""
    type: Annotated[str, trimmed(80)] = Field("", description="Business type.")
    client: Literal["", "yes", "no"] = Field("", description="yes: maklon clients only.")
    archived: bool = ARCHIVED


class ContactQuery(PageQuery):
    q: Annotated[str, trimmed(200)] = Field(
        "", description="In the name, family name, email, phone or company.")
    company: Id | None = Field(None, description="The company's id.")
    archived: bool = ARCHIVED


class ActivityQuery(PageQuery):
    company: Id | None = None
    contact: Id | None = None
    lead: Id | None = None
    task: Id | None = None
    kind: ActivityKindName | None = None


# --- bodies ------------------------------------------------------------------------------

class CompanyIn(Input):
    """A new company. Formats as the web's form: NPWP of 15 or 16 digits, an http(s)
    website; 422 naming each refused field."""

    name: Annotated[str, trimmed(160, 1)]
    business_type: Annotated[str, trimmed(80)] = ""
    city: Annotated[str, trimmed(80)] = ""
    npwp: Annotated[str, trimmed(32)] = ""
    address: Annotated[str, trimmed(1000)] = ""
    website: Annotated[str, trimmed(300)] = ""
    notes: Annotated[str, trimmed(5000)] = ""
    employee_count: int | None = EmployeeCount


class CompanyPatch(Input):
    """The fields to change (missing or null ones are kept); `archived` archives (true) or
    restores (false, admins only)."""

    name: Annotated[str, trimmed(160, 1)] | None = None
    business_type: Annotated[str, trimmed(80)] | None = None
    city: Annotated[str, trimmed(80)] | None = None
    npwp: Annotated[str, trimmed(32)] | None = None
    address: Annotated[str, trimmed(1000)] | None = None
    website: Annotated[str, trimmed(300)] | None = None
    notes: Annotated[str, trimmed(5000)] | None = None
    employee_count: int | None = EmployeeCount
    archived: bool | None = None


class ContactIn(Input):
    """A new contact; `birth_date` not in the future, phone numbers and email as the web's
    form checks them."""

    name: Annotated[str, trimmed(120, 1)]
    family_name: Annotated[str, trimmed(120)] = ""
    birth_date: date | None = None
    company_id: Id | None = None
    position: Annotated[str, trimmed(120)] = ""
    phone: Annotated[str, trimmed(30)] = ""
    email: Annotated[str, trimmed(320)] = ""
    whatsapp: Annotated[str, trimmed(30)] = ""
    notes: Annotated[str, trimmed(5000)] = ""


class ContactPatch(Input):
    """The fields to change (missing ones are kept; `company_id`/`birth_date` null clears
    them); `archived` as for companies."""

    name: Annotated[str, trimmed(120, 1)] | None = None
    family_name: Annotated[str, trimmed(120)] | None = None
    birth_date: date | None = None
    company_id: Id | None = None
    position: Annotated[str, trimmed(120)] | None = None
    phone: Annotated[str, trimmed(30)] | None = None
    email: Annotated[str, trimmed(320)] | None = None
    whatsapp: Annotated[str, trimmed(30)] | None = None
    notes: Annotated[str, trimmed(5000)] | None = None
    archived: bool | None = None


class LeadIn(Input):
    """A new lead in stage New: a company record (`company_id`) or a company name."""

    title: Annotated[str, trimmed(200, 1)]
    source: LeadSourceName = LeadSource.OTHER
    estimated_value: Rupiah = 0
    company_id: Id | None = None
    contact_id: Id | None = None
    company_name: Annotated[str, trimmed(160)] = ""
    contact_name: Annotated[str, trimmed(120)] = ""
    contact_email: Annotated[str, trimmed(320)] = ""
    contact_phone: Annotated[str, trimmed(30)] = ""
    notes: Annotated[str, trimmed(5000)] = ""
    owner_id: Id | None = Field(None, description="An active staff member or admin.")


class LeadPatch(Input):
    """The fields to change (missing ones kept; the ids null clear them); `status` moves
    the lead as the pipeline allows (409 otherwise; `lost` needs `lost_reason`);
    `archived` as for companies."""

    title: Annotated[str, trimmed(200, 1)] | None = None
    source: LeadSourceName | None = None
    estimated_value: Rupiah | None = None
    company_id: Id | None = None
    contact_id: Id | None = None
    company_name: Annotated[str, trimmed(160)] | None = None
    contact_name: Annotated[str, trimmed(120)] | None = None
    contact_email: Annotated[str, trimmed(320)] | None = None
    contact_phone: Annotated[str, trimmed(30)] | None = None
    notes: Annotated[str, trimmed(5000)] | None = None
    owner_id: Id | None = None
    status: LeadStatusName | None = None
    lost_reason: Annotated[str, trimmed(2000)] = ""
    archived: bool | None = None


class TaskIn(Input):
    """A new task, assigned with the fairness rule (it may go to a colleague: see
    `assignment_reason`); the due date not before today; at most one related record."""

    title: Annotated[str, trimmed(200, 1)]
    assignee_id: Id
    description: Annotated[str, trimmed(5000)] = ""
    due_date: date | None = None
    priority: PriorityName = TaskPriority.NORMAL
    company_id: Id | None = None
    contact_id: Id | None = None
    lead_id: Id | None = None


class TaskPatch(Input):
    """The fields to change (missing ones kept; the related ids and `due_date` null clear
    them); a changed due date not before today; `status` as the web's task moves (409
    otherwise); `archived` as for companies."""

    title: Annotated[str, trimmed(200, 1)] | None = None
    assignee_id: Id | None = None
    description: Annotated[str, trimmed(5000)] | None = None
    due_date: date | None = None
    priority: PriorityName | None = None
    company_id: Id | None = None
    contact_id: Id | None = None
    lead_id: Id | None = None
    status: TaskStatusName | None = None
    archived: bool | None = None


class ActivityIn(Input):
    """A call, meeting, email or note on exactly one record (its parents get it too: an
    activity on a contact shows on its company)."""

    kind: LoggedKind
    subject: Annotated[str, trimmed(300, 1)]
    body: Annotated[str, trimmed(5000)] = ""
    occurred_at: AwareDatetime | None = Field(None, description="Default: now.")
    company_id: Id | None = None
    contact_id: Id | None = None
    lead_id: Id | None = None
    task_id: Id | None = None


class ActivityPatch(Input):
    """The fields to change of a call, meeting, email or note (status and assignment
    history cannot be changed: 409)."""

    kind: LoggedKind | None = None
    subject: Annotated[str, trimmed(300, 1)] | None = None
    body: Annotated[str, trimmed(5000)] | None = None
    occurred_at: AwareDatetime | None = None


# --- answers -----------------------------------------------------------------------------

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
    archived_at: datetime | None
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
    assignment_reason: str | None = Field(description="Set when the fairness rule gave it "
                                                      "to someone else.")
    company_id: int | None
    contact_id: int | None
    lead_id: int | None
    archived_at: datetime | None
    created_at: datetime
    completed_at: datetime | None


class CompanyOut(Output):
    id: int
    name: str
    business_type: str
    city: str
    npwp: str
    employee_count: int | None
    is_client: bool
    archived_at: datetime | None
    created_at: datetime


class ContactOut(Output):
    id: int
    name: str
    family_name: str
    birth_date: date | None
    company_id: int | None
    position: str
    email: str
    phone: str
    whatsapp: str
    notes: str
    archived_at: datetime | None
    created_at: datetime


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


class ActivityOut(Output):
    id: int
    kind: str
    subject: str
    body: str
    occurred_at: datetime
    author: UserRef | None
    company_id: int | None
    contact_id: int | None
    lead_id: int | None
    task_id: int | None
    editable: bool = Field(description="Calls, meetings, emails and notes; status and "
                                       "assignment history is not.")


# --- helpers -----------------------------------------------------------------------------

def _page(stmt: Select, query: PageQuery) -> tuple[list, int]:
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.scalars(stmt.limit(query.per_page)
                              .offset((query.page - 1) * query.per_page)).all()
    return list(rows), int(total or 0)


def _get(model: type, record_id: int) -> Any:
    record = db.session.get(model, record_id)
    if record is None:
        raise ApiError(404)
    return record


@contextmanager
def _rules(fields: dict[str, str] | None = None) -> Iterator[None]:
    """A refusal of the services as the API answers it: ManagerOnly 403, a conflict
    (TransitionRefused, DeleteRefused) 409, bad input 422 naming the field (`fields` maps
    the services' field names to the body's). The error handler rolls everything back."""
    try:
        yield
    except ManagerOnly as error:
        raise ApiError(403, ApiErrorCode.CRM_MANAGER_ONLY, error.message) from None
    except RecordGone as error:
        raise ApiError(404, ApiErrorCode.NOT_FOUND, error.message) from None
    except DeleteRefused as error:
        raise ApiError(409, ApiErrorCode.CRM_DELETE_REFUSED, error.message) from None
    except TransitionRefused as error:
        raise ApiError(409, ApiErrorCode.CRM_CONFLICT, error.message) from None
    except CrmError as error:
        field = (fields or {}).get(error.field or "", error.field)
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, error.message,
                       fields={field: error.message} if field else {}) from None


def _form_checked(form_class: type, values: dict[str, Any], choices: tuple[str, ...] = ()):
    """`values` checked by the web's form (formats and messages); the select fields named
    in `choices` accept the value given (the services check that it exists). 422 naming
    each refused field."""
    formdata = MultiDict({name: "" if value is None else str(value)
                          for name, value in values.items()})
    form = form_class(formdata=formdata, meta={"csrf": False})
    for name in choices:
        getattr(form, name).choices = [("", ""), (formdata.get(name, ""), "")]
    if not form.validate():
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, fields={
            name: str(errors[0]) for name, errors in form.errors.items() if errors})
    return form


def _archive_change(record: Any, archived: bool | None) -> None:
    if archived is True:
        record_archive(record=record, actor=current_user)
    elif archived is False:
        record_restore(record=record, actor=current_user)


def _merged(record: Any, body: Input, names: tuple[str, ...]) -> dict[str, Any]:
    """The record's values with the body's changes: a field sent (even null) replaces."""
    values = {name: getattr(record, name) for name in names}
    values.update({name: value for name, value in body.model_dump(exclude_unset=True).items()
                   if name in names})
    return values


def _user(user: User | None) -> UserRef | None:
    return UserRef(id=user.id, name=user.name) if user else None


# --- companies ---------------------------------------------------------------------------

COMPANY_FIELDS = ("name", "business_type", "city", "npwp", "address", "website", "notes",
                  "employee_count")


def _company(company_id: int) -> Company:
    """The web's lookup (app.crm.queries.company_get); unknown: 404."""
    company = queries.company_get(company_id)
    if company is None:
        raise ApiError(404)
    return company


def _company_detail(company_id: int) -> CompanyDetailOut:
    detail = queries.company_detail(company_id)
    if detail is None:
        raise ApiError(404)
    company = detail.company
    base = CompanyOut.model_validate(company).model_dump()
    return CompanyDetailOut(
        **base, address=company.address, website=company.website, notes=company.notes,
        updated_at=company.updated_at,
        contacts=[ContactOut.model_validate(c) for c in detail.contacts],
        leads=[CompanyLeadOut(id=lead.id, title=lead.title, status=lead.status,
                              status_label=str(LEAD_STATUS_LABELS.get(lead.status,
                                                                      lead.status)),
                              estimated_value=lead.estimated_value) for lead in detail.leads])


def _company_written(values: dict[str, Any], company: Company | None = None) -> Company:
    form = _form_checked(CompanyForm, values)
    with _rules():
        return company_save(details=form.details(), company=company)


@operation(bp, "/crm/companies", "GET", tag=TAG, summary="Companies (search and filters as "
           "on the web)", query=CompanyQuery, response=Page[CompanyOut], roles=STAFF)
def crm_companies(query: CompanyQuery):
    stmt = queries.company_search(q=query.q, city=query.city, business_type=query.type,
                                  client=query.client, archived=query.archived)
    rows, total = _page(stmt, query)
    return page_of(rows, total, query, CompanyOut)


@operation(bp, "/crm/companies", "POST", tag=TAG, summary="Create a company", body=CompanyIn,
           response=CompanyDetailOut, status=201, roles=STAFF, idempotent=True)
def crm_company_create(body: CompanyIn):
    company = _company_written(body.model_dump())
    db.session.commit()
    return _company_detail(company.id), 201, {
        "Location": url_for("api.crm_company_get", company_id=company.id)}


@operation(bp, "/crm/companies/<id:company_id>", "GET", tag=TAG, summary="One company with "
           "its contacts and leads", response=CompanyDetailOut, roles=STAFF)
def crm_company_get(company_id: int):
    """Archived companies too (see `archived_at`); the live contacts and leads."""
    return _company_detail(company_id)


@operation(bp, "/crm/companies/<id:company_id>", "PATCH", tag=TAG, summary="Change, archive "
           "or restore a company", body=CompanyPatch, response=CompanyDetailOut, roles=STAFF,
           errors=WRITE_ERRORS)
def crm_company_change(company_id: int, body: CompanyPatch):
    company = _company(company_id)
    _company_written(_merged(company, body, COMPANY_FIELDS), company)
    with _rules():
        _archive_change(company, body.archived)
    db.session.commit()
    return _company_detail(company.id)


@operation(bp, "/crm/companies/<id:company_id>", "DELETE", tag=TAG, summary="Delete a "
           "company", response=None, status=204, roles=STAFF, errors=WRITE_ERRORS)
def crm_company_delete(company_id: int):
    """409 `crm_delete_refused` while it has open leads (archive it instead) or when it is
    a maklon client's company. The delete is audited."""
    with _rules():
        record_delete(record=_company(company_id), actor=current_user)
    db.session.commit()
    return None


# --- contacts ----------------------------------------------------------------------------

CONTACT_FIELDS = ("name", "family_name", "birth_date", "company_id", "position", "phone",
                  "email", "whatsapp", "notes")


def _contact_written(values: dict[str, Any], contact: Contact | None = None) -> Contact:
    if values.get("birth_date") is not None:
        values["birth_date"] = values["birth_date"].isoformat()
    form = _form_checked(ContactForm, values, choices=("company_id",))
    with _rules():
        return contact_save(details=form.details(), contact=contact)


@operation(bp, "/crm/contacts", "GET", tag=TAG, summary="Contacts (search as on the web)",
           query=ContactQuery, response=Page[ContactOut], roles=STAFF)
def crm_contacts(query: ContactQuery):
    stmt = queries.contact_search(q=query.q, company_id=query.company, archived=query.archived)
    rows, total = _page(stmt, query)
    return page_of(rows, total, query, ContactOut)


@operation(bp, "/crm/contacts", "POST", tag=TAG, summary="Create a contact", body=ContactIn,
           response=ContactOut, status=201, roles=STAFF, idempotent=True)
def crm_contact_create(body: ContactIn):
    contact = _contact_written(body.model_dump())
    db.session.commit()
    return ContactOut.model_validate(contact), 201, {
        "Location": url_for("api.crm_contact_get", contact_id=contact.id)}


@operation(bp, "/crm/contacts/<id:contact_id>", "GET", tag=TAG, summary="One contact",
           response=ContactOut, roles=STAFF)
def crm_contact_get(contact_id: int):
    return ContactOut.model_validate(_get(Contact, contact_id))


@operation(bp, "/crm/contacts/<id:contact_id>", "PATCH", tag=TAG, summary="Change, archive "
           "or restore a contact", body=ContactPatch, response=ContactOut, roles=STAFF,
           errors=WRITE_ERRORS)
def crm_contact_change(contact_id: int, body: ContactPatch):
    contact = _get(Contact, contact_id)
    _contact_written(_merged(contact, body, CONTACT_FIELDS), contact)
    with _rules():
        _archive_change(contact, body.archived)
    db.session.commit()
    return ContactOut.model_validate(contact)


@operation(bp, "/crm/contacts/<id:contact_id>", "DELETE", tag=TAG, summary="Delete a "
           "contact", response=None, status=204, roles=STAFF, errors=WRITE_ERRORS)
def crm_contact_delete(contact_id: int):
    """Audited; its activities that are on another record too stay there."""
    with _rules():
        record_delete(record=_get(Contact, contact_id), actor=current_user)
    db.session.commit()
    return None


# --- leads -------------------------------------------------------------------------------

LEAD_FIELDS = ("title", "source", "estimated_value", "company_id", "contact_id",
               "company_name", "contact_name", "contact_email", "contact_phone", "notes",
               "owner_id")


def _lead(lead: Lead) -> dict:
    return {"id": lead.id, "title": lead.title, "status": lead.status,
            "status_label": str(LEAD_STATUS_LABELS.get(lead.status, lead.status)),
            "source": lead.source, "source_label": str(SOURCE_LABELS.get(lead.source,
                                                                         lead.source)),
            "estimated_value": lead.estimated_value,
            "company": CompanyRef(id=lead.company.id, name=lead.company.name)
            if lead.company else None,
            "company_name": lead.display_company, "contact_name": lead.contact_name,
            "owner": _user(lead.owner), "archived_at": lead.archived_at,
            "created_at": lead.created_at, "updated_at": lead.updated_at}


def _lead_detail(lead: Lead) -> LeadDetailOut:
    return LeadDetailOut(**_lead(lead), contact_id=lead.contact_id,
                         contact_email=lead.contact_email, contact_phone=lead.contact_phone,
                         notes=lead.notes, lost_reason=lead.lost_reason,
                         closed_at=lead.closed_at)


def _lead_details(values: dict[str, Any]):
    form = _form_checked(LeadForm, values, choices=("company_id", "owner_id"))
    return form.details(contact_id=values.get("contact_id"))


@operation(bp, "/crm/leads", "GET", tag=TAG, summary="Leads (search and filters as on the "
           "web)", query=LeadQuery, response=Page[LeadOut], roles=STAFF)
def crm_leads(query: LeadQuery):
    stmt = queries.lead_search(q=query.q, status=query.status or "", owner_id=query.owner,
                               source=query.source or "", archived=query.archived)
    rows, total = _page(stmt, query)
    return page_of([_lead(lead) for lead in rows], total, query, LeadOut)


@operation(bp, "/crm/leads", "POST", tag=TAG, summary="Create a lead", body=LeadIn,
           response=LeadDetailOut, status=201, roles=STAFF, idempotent=True)
def crm_lead_create(body: LeadIn):
    """In stage New; the webhook hears of it after the commit, as from the web."""
    details = _lead_details(body.model_dump())
    with _rules():
        lead = lead_create(details=details, actor=current_user)
    db.session.commit()
    return _lead_detail(lead), 201, {"Location": url_for("api.crm_lead_get", lead_id=lead.id)}


@operation(bp, "/crm/leads/<id:lead_id>", "GET", tag=TAG, summary="One lead",
           response=LeadDetailOut, roles=STAFF)
def crm_lead_get(lead_id: int):
    return _lead_detail(_get(Lead, lead_id))


@operation(bp, "/crm/leads/<id:lead_id>", "PATCH", tag=TAG, summary="Change, move, archive "
           "or restore a lead", body=LeadPatch, response=LeadDetailOut, roles=STAFF,
           errors=WRITE_ERRORS)
def crm_lead_change(lead_id: int, body: LeadPatch):
    lead = _get(Lead, lead_id)
    details = _lead_details(_merged(lead, body, LEAD_FIELDS))
    with _rules():
        lead_update(lead=lead, details=details)
        if body.status is not None and body.status != lead.status:
            lead_move(lead=lead, status=body.status, actor=current_user,
                      lost_reason=body.lost_reason)
        _archive_change(lead, body.archived)
    db.session.commit()
    return _lead_detail(lead)


@operation(bp, "/crm/leads/<id:lead_id>", "DELETE", tag=TAG, summary="Delete a lead",
           response=None, status=204, roles=STAFF, errors=WRITE_ERRORS)
def crm_lead_delete(lead_id: int):
    """Audited; its activities that are on another record too stay there."""
    with _rules():
        record_delete(record=_get(Lead, lead_id), actor=current_user)
    db.session.commit()
    return None


# --- tasks -------------------------------------------------------------------------------

TASK_FIELDS = ("title", "assignee_id", "description", "due_date", "priority", "company_id",
               "contact_id", "lead_id")


def _task(task: Task, today: date) -> TaskOut:
    return TaskOut(
        id=task.id, title=task.title, description=task.description, status=task.status,
        status_label=str(TASK_STATUS_LABELS.get(task.status, task.status)),
        priority=task.priority, priority_label=str(PRIORITY_LABELS.get(task.priority,
                                                                       task.priority)),
        due_date=task.due_date,
        overdue=bool(task.is_active and task.due_date and task.due_date < today),
        assignee=UserRef(id=task.assignee.id, name=task.assignee.name),
        assignment_reason=task.assignment_reason,
        company_id=task.company_id, contact_id=task.contact_id, lead_id=task.lead_id,
        archived_at=task.archived_at, created_at=task.created_at,
        completed_at=task.completed_at)


def _related_field(body: Input) -> str:
    """The body's field to blame for the services' `related` (the record a task is on)."""
    for name in ("company_id", "contact_id", "lead_id"):
        if getattr(body, name, None) is not None:
            return name
    return "company_id"


@operation(bp, "/crm/tasks", "GET", tag=TAG, summary="Tasks, most urgent first",
           query=TaskQuery, response=Page[TaskOut], roles=STAFF)
def crm_tasks(query: TaskQuery):
    """Like the web's task list: `status=active` (the default) is open and in progress;
    `assignee` narrows to one person (the web's "my tasks" is `assignee=<your id>`)."""
    stmt = queries.task_list(assignee_id=query.assignee, status=query.status,
                             archived=query.archived)
    rows, total = _page(stmt, query)
    today = wib_today()
    return page_of([_task(task, today) for task in rows], total, query, TaskOut)


@operation(bp, "/crm/tasks", "POST", tag=TAG, summary="Create a task", body=TaskIn,
           response=TaskOut, status=201, roles=STAFF, idempotent=True)
def crm_task_create(body: TaskIn):
    """422 for an assignee who is not active staff or admin, a due date before today or an
    unknown related record."""
    related = _related_field(body)
    with _rules({"title": related, "related": related}):
        task = task_create(title=body.title, assignee=db.session.get(User, body.assignee_id),
                           actor=current_user, description=body.description,
                           due_date=body.due_date, priority=body.priority,
                           company_id=body.company_id, contact_id=body.contact_id,
                           lead_id=body.lead_id)
    db.session.commit()
    return _task(task, wib_today()), 201, {
        "Location": url_for("api.crm_task_get", task_id=task.id)}


@operation(bp, "/crm/tasks/<id:task_id>", "GET", tag=TAG, summary="One task",
           response=TaskOut, roles=STAFF)
def crm_task_get(task_id: int):
    return _task(_get(Task, task_id), wib_today())


@operation(bp, "/crm/tasks/<id:task_id>", "PATCH", tag=TAG, summary="Change, move, archive "
           "or restore a task", body=TaskPatch, response=TaskOut, roles=STAFF,
           errors=WRITE_ERRORS)
def crm_task_change(task_id: int, body: TaskPatch):
    """A new assignee is told (`task_assigned`, after the commit), as from the web."""
    task = _get(Task, task_id)
    values = _merged(task, body, TASK_FIELDS)
    with _rules({"related": _related_field(body)}):
        task_update(task=task, details=TaskDetails(**values), actor=current_user)
        if body.status is not None and body.status != task.status:
            task_move(task=task, status=body.status, actor=current_user)
        _archive_change(task, body.archived)
    db.session.commit()
    return _task(task, wib_today())


@operation(bp, "/crm/tasks/<id:task_id>", "DELETE", tag=TAG, summary="Delete a task",
           response=None, status=204, roles=STAFF, errors=WRITE_ERRORS)
def crm_task_delete(task_id: int):
    """Audited; its activities that are on another record too stay there."""
    with _rules():
        record_delete(record=_get(Task, task_id), actor=current_user)
    db.session.commit()
    return None


# --- activities --------------------------------------------------------------------------

ACTIVITY_RECORDS = {"company_id": Company, "contact_id": Contact, "lead_id": Lead,
                    "task_id": Task}


def _activity(activity: Activity) -> ActivityOut:
    return ActivityOut(
        id=activity.id, kind=activity.kind, subject=activity.subject, body=activity.body,
        occurred_at=activity.occurred_at, author=_user(activity.author),
        company_id=activity.company_id, contact_id=activity.contact_id,
        lead_id=activity.lead_id, task_id=activity.task_id,
        editable=activity.kind in ActivityKind.LOGGED)


@operation(bp, "/crm/activities", "GET", tag=TAG, summary="Activities, newest first",
           query=ActivityQuery, response=Page[ActivityOut], roles=STAFF)
def crm_activities(query: ActivityQuery):
    stmt = queries.activity_list(company_id=query.company, contact_id=query.contact,
                                 lead_id=query.lead, task_id=query.task,
                                 kind=query.kind or "")
    rows, total = _page(stmt, query)
    return page_of([_activity(activity) for activity in rows], total, query, ActivityOut)


@operation(bp, "/crm/activities", "POST", tag=TAG, summary="Log a call, meeting, email or "
           "note", body=ActivityIn, response=ActivityOut, status=201, roles=STAFF,
           idempotent=True)
def crm_activity_create(body: ActivityIn):
    """On exactly one of `company_id`, `contact_id`, `lead_id`, `task_id` (422 otherwise,
    and for a record that does not exist)."""
    named = [(name, getattr(body, name)) for name in ACTIVITY_RECORDS
             if getattr(body, name) is not None]
    if len(named) != 1:
        message = gettext("Sebutkan tepat satu catatan: perusahaan, kontak, prospek atau "
                          "tugas.")
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, message, fields={"company_id": message})
    name, record_id = named[0]
    record = db.session.get(ACTIVITY_RECORDS[name], record_id)
    if record is None:
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, fields={name: gettext(
            "Data yang Anda cari tidak ada.")})
    with _rules():
        activity = activity_log_on(record=record, kind=body.kind, author=current_user,
                                   subject=body.subject, body=body.body,
                                   occurred_at=body.occurred_at)
    db.session.commit()
    return _activity(activity), 201, {
        "Location": url_for("api.crm_activity_get", activity_id=activity.id)}


@operation(bp, "/crm/activities/<id:activity_id>", "GET", tag=TAG, summary="One activity",
           response=ActivityOut, roles=STAFF)
def crm_activity_get(activity_id: int):
    return _activity(_get(Activity, activity_id))


@operation(bp, "/crm/activities/<id:activity_id>", "PATCH", tag=TAG, summary="Change a "
           "call, meeting, email or note", body=ActivityPatch, response=ActivityOut,
           roles=STAFF, errors=WRITE_ERRORS)
def crm_activity_change(activity_id: int, body: ActivityPatch):
    activity = _get(Activity, activity_id)
    with _rules():
        activity_update(activity=activity, kind=body.kind or activity.kind,
                        subject=body.subject if body.subject is not None else activity.subject,
                        body=body.body if body.body is not None else activity.body,
                        occurred_at=body.occurred_at)
    db.session.commit()
    return _activity(activity)


@operation(bp, "/crm/activities/<id:activity_id>", "DELETE", tag=TAG, summary="Delete a "
           "call, meeting, email or note", response=None, status=204, roles=STAFF,
           errors=WRITE_ERRORS)
def crm_activity_delete(activity_id: int):
    """Audited; status and assignment history answers 409."""
    with _rules():
        record_delete(record=_get(Activity, activity_id), actor=current_user)
    db.session.commit()
    return None
