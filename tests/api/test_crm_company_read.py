"""One company read for the web and the API (app.crm.queries.company_get and
company_detail): the same lookup, the same rule of who may read it, the same sort of its
contacts (by name) and leads (newest first)."""

from __future__ import annotations

import pytest

from app.accounts.models import Company
from app.core.clock import utcnow
from app.crm import queries
from app.crm.models import Contact, Lead
from app.extensions import db as _db
from tests.factories import make_user
from tests.maklon.factories import make_maklon_client

API = "/api/v1/crm/companies"


def _company() -> int:
    company = Company(name="PT Urutan Sama", city="Bogor")
    _db.session.add(company)
    _db.session.flush()
    # Inserted out of order: the read sorts, not the insert.
    for name in ("Zaenal Kontak", "Ani Kontak", "Mira Kontak"):
        _db.session.add(Contact(name=name, company_id=company.id))
    _db.session.add(Contact(name="Lama Diarsipkan", company_id=company.id,
                            archived_at=utcnow()))
    for title in ("Prospek Pertama", "Prospek Kedua", "Prospek Ketiga"):
        _db.session.add(Lead(title=title, company_id=company.id))
        _db.session.flush()
    _db.session.commit()
    return company.id


def _in_page_order(html: str, names: list[str]) -> list[str]:
    return sorted(names, key=html.index)


def test_web_and_api_show_a_company_with_the_same_sort(client, db, login_as, api):
    company_id = _company()
    staff = make_user(roles=("staff",))
    _db.session.commit()
    body = api(staff).get(f"{API}/{company_id}").get_json()
    contacts = [c["name"] for c in body["contacts"]]
    leads = [lead["title"] for lead in body["leads"]]
    assert contacts == ["Ani Kontak", "Mira Kontak", "Zaenal Kontak"]
    assert leads == ["Prospek Ketiga", "Prospek Kedua", "Prospek Pertama"]
    login_as(staff)
    html = client.get(f"/crm/perusahaan/{company_id}").get_data(as_text=True)
    assert _in_page_order(html, contacts) == contacts
    assert _in_page_order(html, leads) == leads
    assert "Lama Diarsipkan" not in str(body)  # live contacts only


@pytest.mark.parametrize("role", ["customer", "seller", "client"])
def test_only_crm_roles_read_a_company_on_both_paths(client, db, login_as, api, role):
    """CRM records are the team's: staff and admins read every company; anybody else is
    refused on the web and in the API alike — a maklon client even for its own company."""
    company_id = _company()
    user = make_maklon_client() if role == "client" else make_user(roles=(role,))
    _db.session.commit()
    assert api(user).get(f"{API}/{company_id}").status_code == 403
    login_as(user)
    assert client.get(f"/crm/perusahaan/{company_id}").status_code == 403
    assert client.get(f"/crm/perusahaan/{company_id}/ubah").status_code == 403


def test_web_and_api_look_a_company_up_with_the_one_query(client, db, login_as, api,
                                                          monkeypatch):
    company_id = _company()
    admin = make_user(roles=("admin",))
    _db.session.commit()
    assert queries.company_get(company_id).name == "PT Urutan Sama"
    assert queries.company_get(999_999) is None
    # With the lookup saying "no such company", every path answers 404: none reads on its own.
    monkeypatch.setattr(queries, "company_get", lambda company_id: None)
    token = api(admin)
    assert token.get(f"{API}/{company_id}").status_code == 404
    assert token.patch(f"{API}/{company_id}", json={"city": "Solo"}).status_code == 404
    assert token.delete(f"{API}/{company_id}").status_code == 404
    login_as(admin)
    assert client.get(f"/crm/perusahaan/{company_id}").status_code == 404
    assert client.get(f"/crm/perusahaan/{company_id}/ubah").status_code == 404
