"""CRM pages: access by role, companies and contacts (validation, search, timeline),
activities, emailing a contact through the outbox, the team and settings pages."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.accounts.models import Company
from app.core.models import EmailOutbox
from app.core.settings import setting_get
from app.crm.models import Activity, ActivityKind, Contact
from app.crm.webhooks import SETTING_SECRET, SETTING_URL
from tests.crm.helpers import make_staff

CRM_PAGES = ["/crm/", "/crm/prospek", "/crm/perusahaan", "/crm/kontak", "/crm/tugas",
             "/crm/impor", "/crm/prospek/baru", "/crm/tugas/baru"]


@pytest.mark.parametrize("role", ["customer", "seller", "client"])
def test_non_staff_get_403_on_every_crm_page(client, login_as, role):
    login_as(role)
    for url in [*CRM_PAGES, "/crm/tim", "/crm/pengaturan"]:
        assert client.get(url).status_code == 403, url
    assert client.post("/crm/perusahaan/baru", data={"name": "PT X"}).status_code == 403


def test_anonymous_visitors_are_sent_to_login(client):
    for url in CRM_PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/masuk" in response.headers["Location"]


def test_staff_reach_crm_but_not_team_or_settings(client, login_as):
    login_as("staff")
    for url in CRM_PAGES:
        assert client.get(url).status_code == 200, url
    assert client.get("/crm/tim").status_code == 403
    assert client.get("/crm/pengaturan").status_code == 403
    assert 'href="/crm/"' in client.get("/").get_data(as_text=True)  # navigation entry


def test_company_bad_input_is_422_with_field_messages_and_nothing_written(client, db,
                                                                         login_as):
    login_as("staff")
    response = client.post("/crm/perusahaan/baru", data={
        "name": "", "npwp": "12", "website": "bukan url", "city": "Bandung"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Wajib diisi." in html and "NPWP harus 15 atau 16 digit." in html
    assert "Alamat situs tidak valid" in html and 'value="Bandung"' in html
    assert db.session.scalar(select(func.count()).select_from(Company)) == 0


def test_company_create_search_and_filter(client, db, login_as):
    login_as("staff")
    response = client.post("/crm/perusahaan/baru", data={
        "name": "PT Ayu Cantik", "business_type": "skincare", "city": "Bandung",
        "npwp": "01.234.567.8-901.000", "website": "https://ayu.test"})
    assert response.status_code == 303
    db.session.add(Company(name="CV Herbal", city="Surabaya"))
    db.session.commit()
    html = client.get("/crm/perusahaan?q=ayu").get_data(as_text=True)
    assert "PT Ayu Cantik" in html and "CV Herbal" not in html
    html = client.get("/crm/perusahaan?city=Surabaya").get_data(as_text=True)
    assert "CV Herbal" in html and "PT Ayu Cantik" not in html
    partial = client.get("/crm/perusahaan?q=herbal", headers={"HX-Request": "true"})
    assert "<html" not in partial.get_data(as_text=True)
    assert 'id="company-rows"' in partial.get_data(as_text=True)


def test_company_list_is_paginated(client, db, login_as):
    db.session.add_all([Company(name=f"PT {n:02d}") for n in range(25)])
    db.session.commit()
    login_as("staff")
    first = client.get("/crm/perusahaan").get_data(as_text=True)
    assert "PT 19" in first and "PT 20" not in first and "Halaman 1 dari 2" in first
    assert "PT 24" in client.get("/crm/perusahaan?page=2").get_data(as_text=True)


def test_contact_with_an_unknown_company_is_refused(client, db, login_as):
    login_as("staff")
    response = client.post("/crm/kontak/baru", data={"name": "Maya", "company_id": "999"})
    assert response.status_code == 422
    assert db.session.scalars(select(Contact)).all() == []


def test_activity_on_a_contact_shows_on_its_company_timeline(client, db, login_as):
    company = Company(name="PT Linimasa")
    db.session.add(company)
    db.session.flush()
    contact = Contact(name="Maya", company_id=company.id)
    db.session.add(contact)
    db.session.commit()
    staff = make_staff(name="Rudi")
    db.session.commit()
    login_as(staff)
    response = client.post(f"/crm/aktivitas/kontak/{contact.id}", data={
        "kind": "call", "subject": "Bahas MOQ serum", "body": "Minta sampel",
        "occurred_at": "2026-11-20T14:30"})
    assert response.status_code == 303
    activity = db.session.scalars(select(Activity)).one()
    assert activity.kind == ActivityKind.CALL and activity.author_id == staff.id
    assert activity.company_id == company.id
    assert activity.occurred_at.isoformat() == "2026-11-20T07:30:00+00:00"  # 14:30 WIB
    html = client.get(f"/crm/perusahaan/{company.id}").get_data(as_text=True)
    assert "Bahas MOQ serum" in html and "Rudi" in html and "Maya" in html


def test_activity_with_bad_input_is_422(client, db, login_as):
    company = Company(name="PT X")
    db.session.add(company)
    db.session.commit()
    login_as("staff")
    response = client.post(f"/crm/aktivitas/perusahaan/{company.id}",
                           data={"kind": "status", "subject": ""})
    assert response.status_code == 422
    assert db.session.scalars(select(Activity)).all() == []
    assert client.post("/crm/aktivitas/pesanan/1", data={"kind": "note", "subject": "x"}
                       ).status_code == 404


def test_email_to_a_contact_goes_through_the_outbox_and_is_logged(client, db, login_as,
                                                                 mail_dir):
    contact = Contact(name="Maya", email="maya@ayu.test")
    db.session.add(contact)
    db.session.commit()
    login_as(make_staff(name="Rudi"))
    response = client.post(f"/crm/kontak/{contact.id}/email", data={
        "subject": "Penawaran serum", "body": "Halo Bu Maya,\nberikut penawarannya."})
    assert response.status_code == 303
    row = db.session.scalars(select(EmailOutbox)).one()
    assert row.to_address == "maya@ayu.test" and row.subject == "Penawaran serum"
    assert row.status == "sent" and "berikut penawarannya" in row.body_text
    assert "Rudi" in row.body_text
    activity = db.session.scalars(select(Activity)).one()
    assert activity.kind == ActivityKind.EMAIL and activity.contact_id == contact.id
    assert any(mail_dir.glob("*crm_contact_email.eml"))


def test_email_to_a_contact_without_address_is_refused(client, db, login_as):
    contact = Contact(name="Tanpa Email")
    db.session.add(contact)
    db.session.commit()
    login_as("staff")
    response = client.post(f"/crm/kontak/{contact.id}/email",
                           data={"subject": "Hai", "body": "Isi"})
    assert response.status_code == 422
    assert db.session.scalars(select(EmailOutbox)).all() == []


@pytest.mark.parametrize("threshold", ["0", "1001", "abc", "", "   "])
def test_settings_refuse_a_threshold_outside_1_to_1000(client, db, login_as, threshold):
    login_as("admin")
    response = client.post("/crm/pengaturan", data={"threshold": threshold})
    assert response.status_code == 422
    if not threshold.strip():  # spaces got past InputRequired: once a 500
        assert "Wajib diisi." in response.get_data(as_text=True)
    assert setting_get("crm.reassign_threshold") is None


def test_settings_save_threshold_and_webhook_and_keep_the_secret(client, db, login_as):
    login_as("admin")
    response = client.post("/crm/pengaturan", data={
        "threshold": "12", "webhook_url": "https://bot.example.test/hook",
        "webhook_secret": "rahasia-panjang-sekali-123"})
    assert response.status_code == 303
    assert setting_get("crm.reassign_threshold") == 12
    client.post("/crm/pengaturan", data={"threshold": "8",
                                         "webhook_url": "https://bot.example.test/hook"})
    db.session.expire_all()
    assert setting_get("crm.reassign_threshold") == 8
    assert setting_get(SETTING_SECRET) == "rahasia-panjang-sekali-123"  # blank keeps it
    page = client.get("/crm/pengaturan").get_data(as_text=True)
    assert "rahasia-panjang-sekali-123" not in page  # never shown back
    bad = client.post("/crm/pengaturan", data={"threshold": "8",
                                               "webhook_url": "ftp://bot.example.test"})
    assert bad.status_code == 422
    assert setting_get(SETTING_URL) == "https://bot.example.test/hook"


def test_admin_sets_a_staff_members_position(client, db, login_as):
    member = make_staff(position=None, name="Sari")
    db.session.commit()
    login_as("admin")
    assert "Sari" in client.get("/crm/tim").get_data(as_text=True)
    response = client.post(f"/crm/tim/{member.id}", data={f"u{member.id}-position": "production"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(type(member), member.id).position == "production"
    bad = client.post(f"/crm/tim/{member.id}", data={f"u{member.id}-position": "pilot"})
    assert bad.status_code == 422


def test_lead_edit_keeps_the_stage_and_saves_the_fields(client, db, login_as):
    from app.crm.models import Lead

    company = Company(name="PT Edit")
    lead = Lead(title="Lama", company_name="PT Lama", status="qualified")
    db.session.add_all([company, lead])
    db.session.commit()
    owner = make_staff(name="Pemilik Baru")
    db.session.commit()
    login_as("staff")
    assert client.get(f"/crm/prospek/{lead.id}/ubah").status_code == 200
    response = client.post(f"/crm/prospek/{lead.id}/ubah", data={
        "title": "Baru", "company_id": str(company.id), "source": "exhibition",
        "estimated_value": "5000000", "owner_id": str(owner.id)})
    assert response.status_code == 303
    db.session.expire_all()
    lead = db.session.get(Lead, lead.id)
    assert (lead.title, lead.company_id, lead.source, lead.estimated_value, lead.owner_id,
            lead.status) == ("Baru", company.id, "exhibition", 5_000_000, owner.id,
                             "qualified")
    negative = client.post(f"/crm/prospek/{lead.id}/ubah", data={
        "title": "Baru", "company_id": str(company.id), "source": "exhibition",
        "estimated_value": "-1", "owner_id": ""})
    assert negative.status_code == 422
    assert "Tidak boleh negatif." in negative.get_data(as_text=True)


def test_crm_pages_render_in_english(client, db, login_as):
    from app.crm.models import Lead, Task

    staff = make_staff()
    company = Company(name="PT Inggris")
    db.session.add(company)
    db.session.flush()
    lead = Lead(title="Serum", company_id=company.id)
    task = Task(title="Telepon", assignee_id=staff.id)
    db.session.add_all([lead, task])
    db.session.commit()
    login_as(staff)
    client.post("/bahasa", data={"lang": "en"})
    board = client.get("/crm/").get_data(as_text=True)
    assert "Leads board" in board and "Contacted →" in board and "Papan prospek" not in board
    for url in (f"/crm/perusahaan/{company.id}", f"/crm/prospek/{lead.id}",
                f"/crm/tugas/{task.id}", "/crm/tugas", "/crm/impor", "/ajukan-maklon"):
        response = client.get(url)
        assert response.status_code == 200, url
    assert "Log activity" in client.get(f"/crm/prospek/{lead.id}").get_data(as_text=True)
