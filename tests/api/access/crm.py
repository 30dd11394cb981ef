"""CRM: staff and admins only, like the web CRM (every other role 403, no token 401). No
ownership inside the CRM (the sales team shares it): B-actors are not CRM users at all.
Restoring an archived record is the CRM manager's (admin): staff get 403."""

from __future__ import annotations

from tests.api.access import only
from tests.core.test_access_matrix import STAFF
from tests.crm.access import fresh_company

CRM = {"staff", "admin"}
MODELS = {"companies": "company", "contacts": "contact", "leads": "lead", "tasks": "task",
          "activities": "activity"}


def _ops(plural: str, singular: str) -> dict:
    return {
        f"api.crm_{plural}": {"GET": only(CRM)},
        # A valid body (BODIES): staff and admins create one each time.
        f"api.crm_{singular}_create": {"POST": only(CRM, status=201)},
        f"api.crm_{singular}_get": {"GET": only(CRM)},
        # An empty change of the shared record: nothing to refuse.
        f"api.crm_{singular}_change": {"PATCH": only(CRM)},
        # A fresh record each time (FRESH): deleted once.
        f"api.crm_{singular}_delete": {"DELETE": only(CRM, status=204)},
    }


ACCESS = {key: value for plural, singular in MODELS.items()
          for key, value in _ops(plural, singular).items()}
# The companies' PATCH restores a fresh archived company: the CRM manager's (admin) only.
ACCESS["api.crm_company_change"] = {"PATCH": {**only(CRM), STAFF: 403}}


def _fresh_company(w) -> dict:
    return {"company_id": fresh_company().id}


def _fresh_contact(w) -> dict:
    from app.crm.models import Contact
    from app.extensions import db

    contact = Contact(name="Kontak Segar")
    db.session.add(contact)
    db.session.flush()
    return {"contact_id": contact.id}


def _fresh_lead(w) -> dict:
    from app.crm.models import Lead
    from app.extensions import db

    lead = Lead(title="Prospek Segar", company_name="PT Segar")
    db.session.add(lead)
    db.session.flush()
    return {"lead_id": lead.id}


def _fresh_task(w) -> dict:
    from app.crm.models import Task
    from app.extensions import db

    task = Task(title="Tugas Segar", assignee_id=w.crm["user_id"])
    db.session.add(task)
    db.session.flush()
    return {"task_id": task.id}


def _fresh_activity(w) -> dict:
    from app.crm.models import Activity
    from app.extensions import db

    activity = Activity(kind="note", subject="Catatan Segar", contact_id=w.crm["contact_id"])
    db.session.add(activity)
    db.session.flush()
    return {"activity_id": activity.id}


FRESH = {
    "api.crm_company_change": lambda w: {"company_id": fresh_company(archived=True).id},
    "api.crm_company_delete": _fresh_company,
    "api.crm_contact_delete": _fresh_contact,
    "api.crm_lead_delete": _fresh_lead,
    "api.crm_task_delete": _fresh_task,
    "api.crm_activity_delete": _fresh_activity,
}

BODIES = {
    "api.crm_company_change": {"archived": False},
    "api.crm_company_create": {"name": "PT Matriks API", "employee_count": 5},
    "api.crm_contact_create": {"name": "Kontak API", "birth_date": "1990-01-01"},
    "api.crm_lead_create": {"title": "Prospek API", "company_name": "PT API"},
    "api.crm_task_create": lambda w: {"title": "Tugas API", "assignee_id": w.crm["user_id"]},
    "api.crm_activity_create": lambda w: {"kind": "call", "subject": "Telepon API",
                                          "contact_id": w.crm["contact_id"]},
}


def args(w) -> dict[str, dict]:
    crm = w.crm
    ids = {"company": {"company_id": crm["company_id"]},
           "contact": {"contact_id": crm["contact_id"]},
           "lead": {"lead_id": crm["lead_id"]}, "task": {"task_id": crm["task_id"]},
           "activity": {"activity_id": crm["activity_id"]}}
    return {f"api.crm_{singular}_{op}": ids[singular]
            for singular in MODELS.values() for op in ("get", "change")
            if (singular, op) != ("company", "change")}


