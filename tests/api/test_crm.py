"""The CRM API: staff and admins only (403 for everyone else, like the web CRM);
the lists use the web's searches and filters and come in pages."""

from __future__ import annotations

from datetime import timedelta

from app.accounts.models import Company
from app.core.clock import utcnow
from app.crm.models import Contact, Lead, LeadStatus, Task, TaskStatus
from app.crm.services import wib_today
from app.extensions import db as _db
from tests.api.conftest import error_code
from tests.factories import make_user
from tests.maklon.factories import make_maklon_client

BASE = "/api/v1/crm"


def _staff():
    return make_user(roles=("staff",), name="Sari Staf")


def _leads(owner) -> list[Lead]:
    company = Company(name="PT Kosmetik Jaya", city="Bandung", business_type="Kosmetik")
    _db.session.add(company)
    _db.session.flush()
    leads = [Lead(title="Serum untuk Jaya", company_id=company.id, owner_id=owner.id,
                  estimated_value=50_000_000, source="exhibition"),
             Lead(title="Sampo herbal", company_name="CV Rambut", contact_name="Budi",
                  status=LeadStatus.CONTACTED),
             Lead(title="Lipstik", company_name="PT Warna", status=LeadStatus.CONTACTED)]
    _db.session.add_all(leads)
    _db.session.flush()
    return leads


def test_only_staff_and_admins_read_the_crm(db, api):
    lead = _leads(_staff())[0]
    for user in (make_user(roles=("customer",)), make_maklon_client(),
                 make_user(roles=("seller",))):
        client = api(user)
        for url in (f"{BASE}/leads", f"{BASE}/leads/{lead.id}", f"{BASE}/tasks",
                    f"{BASE}/companies", f"{BASE}/companies/{lead.company_id}"):
            response = client.get(url)
            assert response.status_code == 403 and error_code(response) == "forbidden", url
    assert api().get(f"{BASE}/leads").status_code == 401
    assert api(make_user(roles=("admin",))).get(f"{BASE}/leads").status_code == 200


def test_leads_search_filter_and_pages(db, api):
    staff = _staff()
    serum, herbal, lipstick = _leads(staff)
    client = api(staff)
    response = client.get(f"{BASE}/leads?per_page=2")
    body = response.get_json()
    assert (body["total"], body["pages"], len(body["items"])) == (3, 2, 2)
    assert 'rel="next"' in response.headers["Link"]
    body = client.get(f"{BASE}/leads?q=jaya").get_json()
    assert [item["id"] for item in body["items"]] == [serum.id]
    item = body["items"][0]
    assert item["company"] == {"id": serum.company_id, "name": "PT Kosmetik Jaya"}
    assert item["owner"] == {"id": staff.id, "name": "Sari Staf"}
    assert (item["status"], item["status_label"]) == ("new", "Baru")
    assert (item["source"], item["estimated_value"]) == ("exhibition", 50_000_000)
    body = client.get(f"{BASE}/leads?status=contacted").get_json()
    assert {item["id"] for item in body["items"]} == {herbal.id, lipstick.id}
    body = client.get(f"{BASE}/leads?owner={staff.id}").get_json()
    assert [item["id"] for item in body["items"]] == [serum.id]
    response = client.get(f"{BASE}/leads?status=bogus")
    assert response.status_code == 422 and "status" in response.get_json()["error"]["fields"]


def test_one_lead_with_its_details_and_etag(db, api):
    staff = _staff()
    herbal = _leads(staff)[1]
    client = api(staff)
    response = client.get(f"{BASE}/leads/{herbal.id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["title"] == "Sampo herbal" and body["company"] is None
    assert body["company_name"] == "CV Rambut" and body["contact_name"] == "Budi"
    assert body["lost_reason"] == "" and body["closed_at"] is None
    again = client.get(f"{BASE}/leads/{herbal.id}",
                       headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304
    assert client.get(f"{BASE}/leads/999999").status_code == 404


def test_tasks_by_assignee_and_status_most_urgent_first(db, api):
    staff, other = _staff(), make_user(roles=("staff",))
    today = utcnow().date()
    late = Task(title="Telepon balik", assignee_id=staff.id, due_date=today - timedelta(days=2))
    soon = Task(title="Kirim sampel", assignee_id=staff.id, due_date=today + timedelta(days=3))
    done = Task(title="Selesai", assignee_id=staff.id, status=TaskStatus.DONE)
    theirs = Task(title="Milik orang lain", assignee_id=other.id)
    _db.session.add_all([late, soon, done, theirs])
    _db.session.flush()
    client = api(staff)
    body = client.get(f"{BASE}/tasks?assignee={staff.id}").get_json()
    assert [item["id"] for item in body["items"]] == [late.id, soon.id]
    assert body["items"][0]["overdue"] is True and body["items"][1]["overdue"] is False
    assert body["items"][0]["assignee"] == {"id": staff.id, "name": "Sari Staf"}
    assert body["items"][0]["status_label"] == "Terbuka"
    body = client.get(f"{BASE}/tasks?status=done").get_json()
    assert [item["id"] for item in body["items"]] == [done.id]
    assert client.get(f"{BASE}/tasks?status=all").get_json()["total"] == 4
    assert client.get(f"{BASE}/tasks").get_json()["total"] == 3


def test_companies_search_and_one_company_with_contacts_and_leads(db, api):
    staff = _staff()
    serum = _leads(staff)[0]
    _db.session.add(Company(name="PT Lain", city="Jakarta", is_client=True))
    _db.session.add(Contact(name="Ani", company_id=serum.company_id, email="ani@example.test"))
    _db.session.flush()
    client = api(staff)
    body = client.get(f"{BASE}/companies?city=bandung").get_json()
    assert [item["name"] for item in body["items"]] == ["PT Kosmetik Jaya"]
    body = client.get(f"{BASE}/companies?client=yes").get_json()
    assert [item["name"] for item in body["items"]] == ["PT Lain"]
    assert client.get(f"{BASE}/companies?per_page=1").headers["X-Total-Count"] == "2"
    response = client.get(f"{BASE}/companies/{serum.company_id}")
    assert response.status_code == 200
    body = response.get_json()
    assert body["name"] == "PT Kosmetik Jaya" and body["business_type"] == "Kosmetik"
    assert [c["name"] for c in body["contacts"]] == ["Ani"]
    assert [lead["id"] for lead in body["leads"]] == [serum.id]
    assert client.get(f"{BASE}/companies/999999").status_code == 404


# --- writes: the web's services and rules --------------------------------------------------

def _audits(action: str) -> list:
    from sqlalchemy import select

    from app.audit.models import AuditEntry

    return list(_db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _count(model) -> int:
    from sqlalchemy import func, select

    return _db.session.scalar(select(func.count()).select_from(model))


def test_company_create_is_idempotent_and_bad_input_writes_nothing(db, api):
    client = api(_staff())
    body = {"name": "PT Baru", "city": "Bogor", "employee_count": 40}
    first = client.post(f"{BASE}/companies", json=body, headers={"Idempotency-Key": "c-1"})
    assert first.status_code == 201
    created = first.get_json()
    assert created["employee_count"] == 40 and created["archived_at"] is None
    assert first.headers["Location"].endswith(f"/crm/companies/{created['id']}")
    again = client.post(f"{BASE}/companies", json=body, headers={"Idempotency-Key": "c-1"})
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == created and _count(Company) == 1
    for bad, field in (({"name": "PT X", "employee_count": -1}, "employee_count"),
                       ({"name": "PT X", "npwp": "123"}, "npwp"),
                       ({"name": "PT X", "website": "javascript:alert(1)"}, "website"),
                       ({"name": ""}, "name")):
        response = client.post(f"{BASE}/companies", json=bad)
        assert response.status_code == 422, bad
        assert field in response.get_json()["error"]["fields"], response.get_json()
    assert _count(Company) == 1


def test_company_patch_archive_restore_and_delete_rules(db, api):
    staff, admin = _staff(), make_user(roles=("admin",))
    company = Company(name="PT Arsip")
    _db.session.add(company)
    _db.session.flush()
    lead = Lead(title="Terbuka", company_id=company.id)
    _db.session.add(lead)
    _db.session.flush()
    company_id, lead_id = company.id, lead.id
    client = api(staff)
    response = client.patch(f"{BASE}/companies/{company_id}", json={"city": "Solo"})
    assert response.status_code == 200 and response.get_json()["city"] == "Solo"
    assert response.get_json()["name"] == "PT Arsip"  # kept
    response = client.delete(f"{BASE}/companies/{company_id}")
    assert response.status_code == 409 and error_code(response) == "crm_delete_refused"
    assert "prospek terbuka" in response.get_json()["error"]["message"]
    # A change and an archive in one request: the refused half leaves nothing written.
    response = client.patch(f"{BASE}/companies/{company_id}",
                            json={"city": "Medan", "archived": False})
    assert response.status_code == 403 and error_code(response) == "crm_manager_only"
    _db.session.expire_all()
    assert _db.session.get(Company, company_id).city == "Solo"
    response = client.patch(f"{BASE}/companies/{company_id}", json={"archived": True})
    assert response.status_code == 200 and response.get_json()["archived_at"]
    assert client.patch(f"{BASE}/companies/{company_id}",
                        json={"archived": True}).status_code == 409
    names = [c["name"] for c in client.get(f"{BASE}/companies").get_json()["items"]]
    assert "PT Arsip" not in names
    names = [c["name"] for c in client.get(f"{BASE}/companies?archived=true")
             .get_json()["items"]]
    assert names == ["PT Arsip"]
    assert client.patch(f"{BASE}/companies/{company_id}",
                        json={"archived": False}).status_code == 403
    response = api(admin).patch(f"{BASE}/companies/{company_id}", json={"archived": False})
    assert response.status_code == 200 and response.get_json()["archived_at"] is None
    assert [entry.actor_id for entry in _audits("crm.restore")] == [admin.id]
    # Closing the lead lets the company go; the delete is audited.
    assert client.patch(f"{BASE}/leads/{lead_id}",
                        json={"status": "lost", "lost_reason": "Harga"}).status_code == 200
    assert client.delete(f"{BASE}/companies/{company_id}").status_code == 204
    assert client.get(f"{BASE}/companies/{company_id}").status_code == 404
    entry = _audits("crm.delete")[0]
    assert (entry.object_type, entry.object_id, entry.before["name"]) == (
        "company", str(company_id), "PT Arsip")


def test_contacts_crud_with_family_name_and_birth_date(db, api):
    client = api(_staff())
    company = Company(name="PT Kontak")
    _db.session.add(company)
    _db.session.flush()
    response = client.post(f"{BASE}/contacts", json={
        "name": "Ani", "family_name": "Wijaya", "birth_date": "1991-02-03",
        "company_id": company.id, "email": "ani@example.test"})
    assert response.status_code == 201
    contact = response.get_json()
    assert (contact["family_name"], contact["birth_date"]) == ("Wijaya", "1991-02-03")
    future = str(wib_today() + timedelta(days=1))
    for bad, field in (({"name": "B", "birth_date": future}, "birth_date"),
                       ({"name": "B", "email": "bukan-email"}, "email"),
                       ({"name": "B", "company_id": 999999}, "company_id"),
                       ({"name": "B", "phone": "abc"}, "phone")):
        response = client.post(f"{BASE}/contacts", json=bad)
        assert response.status_code == 422, bad
        assert field in response.get_json()["error"]["fields"], response.get_json()
    assert _count(Contact) == 1
    response = client.patch(f"{BASE}/contacts/{contact['id']}", json={"birth_date": None,
                                                                      "position": "Direktur"})
    assert response.status_code == 200
    assert (response.get_json()["birth_date"], response.get_json()["position"],
            response.get_json()["family_name"]) == (None, "Direktur", "Wijaya")
    assert [c["name"] for c in client.get(f"{BASE}/contacts?q=wijaya").get_json()["items"]] \
        == ["Ani"]
    detail = client.get(f"{BASE}/companies/{company.id}").get_json()
    assert [c["id"] for c in detail["contacts"]] == [contact["id"]]
    assert client.delete(f"{BASE}/contacts/{contact['id']}").status_code == 204
    assert client.get(f"{BASE}/contacts/{contact['id']}").status_code == 404


def test_lead_create_patch_and_pipeline_moves_as_the_web(db, api):
    client = api(_staff())
    response = client.post(f"{BASE}/leads", json={"title": "Serum API",
                                                  "company_name": "PT API"})
    assert response.status_code == 201 and response.get_json()["status"] == "new"
    lead_id = response.get_json()["id"]
    response = client.post(f"{BASE}/leads", json={"title": "Tanpa perusahaan"})
    assert response.status_code == 422 and "company_name" in response.get_json()["error"][
        "fields"]
    # An illegal move with a field change: 409 and the title stays.
    response = client.patch(f"{BASE}/leads/{lead_id}", json={"title": "Ganti",
                                                             "status": "won"})
    assert response.status_code == 409 and error_code(response) == "crm_conflict"
    response = client.patch(f"{BASE}/leads/{lead_id}", json={"status": "lost"})
    assert response.status_code == 422 and "lost_reason" in response.get_json()["error"][
        "fields"]
    _db.session.expire_all()
    lead = _db.session.get(Lead, lead_id)
    assert (lead.title, lead.status) == ("Serum API", "new")
    response = client.patch(f"{BASE}/leads/{lead_id}", json={"status": "contacted",
                                                             "estimated_value": 7_000_000})
    assert response.status_code == 200
    assert (response.get_json()["status"], response.get_json()["estimated_value"]) == (
        "contacted", 7_000_000)
    assert client.delete(f"{BASE}/leads/{lead_id}").status_code == 204
    assert [e.object_type for e in _audits("crm.delete")] == ["lead"]


def test_task_crud_rules_and_reassignment_signal(db, api):
    from app.crm.signals import task_assigned

    staff, colleague = _staff(), make_user(roles=("staff",), name="Budi")
    client = api(staff)
    past = str(wib_today() - timedelta(days=1))
    response = client.post(f"{BASE}/tasks", json={"title": "Kemarin", "assignee_id": staff.id,
                                                  "due_date": past})
    assert response.status_code == 422 and "due_date" in response.get_json()["error"]["fields"]
    customer = make_user(roles=("customer",))
    for bad, field in (({"title": "X", "assignee_id": customer.id}, "assignee_id"),
                       ({"title": "X", "assignee_id": 999999}, "assignee_id"),
                       ({"title": "X", "assignee_id": staff.id, "lead_id": 999999}, "lead_id"),
                       ({"title": "X", "assignee_id": staff.id, "lead_id": 1,
                         "company_id": 1}, "company_id")):
        response = client.post(f"{BASE}/tasks", json=bad)
        assert response.status_code == 422, bad
        assert field in response.get_json()["error"]["fields"], response.get_json()
    assert _count(Task) == 0
    response = client.post(f"{BASE}/tasks", json={"title": "Kirim sampel",
                                                  "assignee_id": staff.id})
    assert response.status_code == 201
    task_id = response.get_json()["id"]
    received = []

    def listener(sender, **kwargs):
        received.append((sender.id, kwargs))

    task_assigned.connect(listener)
    try:
        response = client.patch(f"{BASE}/tasks/{task_id}", json={
            "assignee_id": colleague.id, "priority": "high", "status": "in_progress"})
        assert response.status_code == 200
        assert client.patch(f"{BASE}/tasks/{task_id}", json={"title": "Sama"}).status_code \
            == 200
    finally:
        task_assigned.disconnect(listener)
    assert received == [(task_id, {"previous_assignee_id": staff.id, "reason": None})]
    body = client.get(f"{BASE}/tasks/{task_id}").get_json()
    assert (body["assignee"]["id"], body["priority"], body["status"], body["title"]) == (
        colleague.id, "high", "in_progress", "Sama")
    response = client.patch(f"{BASE}/tasks/{task_id}", json={"due_date": past})
    assert response.status_code == 422
    assert client.delete(f"{BASE}/tasks/{task_id}").status_code == 204


def test_activities_logged_changed_and_deleted_history_kept(db, api):
    from app.crm.models import Activity, ActivityKind

    client = api(_staff())
    company = Company(name="PT Aktivitas")
    _db.session.add(company)
    _db.session.flush()
    contact = Contact(name="Ani", company_id=company.id)
    _db.session.add(contact)
    _db.session.flush()
    response = client.post(f"{BASE}/activities", json={"kind": "call", "subject": "Telepon",
                                                       "contact_id": contact.id})
    assert response.status_code == 201
    activity = response.get_json()
    assert (activity["contact_id"], activity["company_id"]) == (contact.id, company.id)
    assert client.post(f"{BASE}/activities", json={"kind": "call", "subject": "Dua",
                                                   "contact_id": contact.id,
                                                   "company_id": company.id}
                       ).status_code == 422
    assert client.post(f"{BASE}/activities", json={"kind": "status", "subject": "X",
                                                   "contact_id": contact.id}
                       ).status_code == 422
    listed = client.get(f"{BASE}/activities?company={company.id}").get_json()
    assert [item["id"] for item in listed["items"]] == [activity["id"]]
    response = client.patch(f"{BASE}/activities/{activity['id']}", json={"kind": "meeting"})
    assert response.status_code == 200 and response.get_json()["kind"] == "meeting"
    status = Activity(kind=ActivityKind.STATUS, subject="Status", company_id=company.id)
    _db.session.add(status)
    _db.session.flush()
    assert client.patch(f"{BASE}/activities/{status.id}", json={"subject": "Ubah"}
                        ).status_code == 409
    assert client.delete(f"{BASE}/activities/{status.id}").status_code == 409
    assert client.delete(f"{BASE}/activities/{activity['id']}").status_code == 204
    assert client.get(f"{BASE}/activities/{status.id}").get_json()["editable"] is False


def test_writes_are_staff_and_admin_only(db, api):
    company = Company(name="PT Terlarang")
    _db.session.add(company)
    _db.session.flush()
    for user in (make_user(roles=("customer",)), make_maklon_client(),
                 make_user(roles=("seller",))):
        client = api(user)
        assert client.post(f"{BASE}/companies", json={"name": "PT X"}).status_code == 403
        assert client.patch(f"{BASE}/companies/{company.id}", json={}).status_code == 403
        assert client.delete(f"{BASE}/companies/{company.id}").status_code == 403
    assert api().delete(f"{BASE}/companies/{company.id}").status_code == 401
    assert _db.session.get(Company, company.id) is not None


def test_web_page_and_api_read_the_company_with_one_query(db, api, client, login_as):
    staff = _staff()
    company = Company(name="PT Satu Kueri")
    _db.session.add(company)
    _db.session.flush()
    _db.session.add_all([Contact(name="Kontak Hidup", company_id=company.id),
                         Contact(name="Kontak Arsip", company_id=company.id,
                                 archived_at=utcnow()),
                         Lead(title="Prospek Hidup", company_id=company.id),
                         Lead(title="Prospek Arsip", company_id=company.id,
                              archived_at=utcnow())])
    _db.session.flush()
    company_id = company.id
    body = api(staff).get(f"{BASE}/companies/{company_id}").get_json()
    assert [c["name"] for c in body["contacts"]] == ["Kontak Hidup"]
    assert [lead["title"] for lead in body["leads"]] == ["Prospek Hidup"]
    login_as(staff)
    page = client.get(f"/crm/perusahaan/{company_id}").get_data(as_text=True)
    contacts_and_leads = page.split("<h2>Kontak</h2>")[1].split('id="timeline"')[0]
    assert "Kontak Hidup" in contacts_and_leads and "Prospek Hidup" in contacts_and_leads
    assert "Kontak Arsip" not in contacts_and_leads
    assert "Prospek Arsip" not in contacts_and_leads
