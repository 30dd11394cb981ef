"""The CRM API: read-only, staff and admins only (403 for everyone else, like the web CRM);
the lists use the web's searches and filters and come in pages."""

from __future__ import annotations

from datetime import timedelta

from app.accounts.models import Company
from app.core.clock import utcnow
from app.crm.models import Contact, Lead, LeadStatus, Task, TaskStatus
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
