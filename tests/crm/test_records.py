"""CRM record lifecycle on the web: every field of a task and an activity editable, the new
fields validated, archive / restore / delete behind a confirm step, and the rules that keep
history honest (open leads keep a company, deletes are audited, only admins restore)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from app.accounts.models import Company
from app.audit.models import AuditEntry
from app.crm.models import Activity, ActivityKind, Contact, Lead, LeadStatus, Task
from app.crm.services import wib_today
from app.crm.signals import task_assigned
from tests.crm.helpers import make_staff
from tests.factories import make_user


def _company(db, **values) -> Company:
    company = Company(name=values.pop("name", "PT Arsip Jaya"), **values)
    db.session.add(company)
    db.session.commit()
    return company


def _audits(db, action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def test_company_with_an_open_lead_cannot_be_deleted_only_archived(client, db, login_as):
    company = _company(db)
    db.session.add(Lead(title="Serum terbuka", company_id=company.id,
                        status=LeadStatus.QUALIFIED))
    db.session.commit()
    login_as("staff")
    response = client.get(f"/crm/perusahaan/{company.id}/hapus")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "prospek terbuka" in page and "Arsipkan saja" in page
    assert "Ya, hapus" not in page  # no delete button on a refused confirm step
    response = client.post(f"/crm/perusahaan/{company.id}/hapus")
    assert response.status_code == 409
    assert "prospek terbuka" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Company, company.id) is not None
    assert _audits(db, "crm.delete") == []
    response = client.post(f"/crm/perusahaan/{company.id}/arsipkan")
    assert response.status_code == 303 and response.headers["Location"] == "/crm/perusahaan"
    db.session.expire_all()
    assert db.session.get(Company, company.id).archived_at is not None
    assert [entry.object_id for entry in _audits(db, "crm.archive")] == [str(company.id)]


def test_company_with_closed_leads_is_deleted_and_the_delete_audited(client, db, login_as):
    company = _company(db, city="Bandung", employee_count=12)
    won = Lead(title="Menang dulu", company_id=company.id, company_name=company.name,
               status=LeadStatus.WON)
    db.session.add(won)
    db.session.add(Activity(kind=ActivityKind.NOTE, subject="Kunjungan", company_id=company.id))
    db.session.commit()
    staff = make_staff()
    db.session.commit()
    company_id, won_id, staff_id = company.id, won.id, staff.id
    login_as(staff)
    response = client.post(f"/crm/perusahaan/{company_id}/hapus")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Company, company_id) is None
    lead = db.session.get(Lead, won_id)
    assert lead.company_id is None and lead.company_name == "PT Arsip Jaya"  # history kept
    entry = _audits(db, "crm.delete")[0]
    assert (entry.object_type, entry.object_id, entry.actor_id) == (
        "company", str(company_id), staff_id)
    assert entry.before["name"] == "PT Arsip Jaya" and entry.before["employee_count"] == 12


def test_a_maklon_clients_company_cannot_be_deleted(client, db, login_as):
    from tests.maklon.factories import make_maklon_client, make_maklon_request

    owner = make_maklon_client()
    make_maklon_request(client=owner)
    db.session.commit()
    login_as("admin")
    response = client.post(f"/crm/perusahaan/{owner.company_id}/hapus")
    assert response.status_code == 409
    assert "klien maklon" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Company, owner.company_id) is not None
    assert _audits(db, "crm.delete") == []


def test_archived_records_leave_lists_and_board_and_a_filter_shows_them(client, db, login_as):
    from app.core.clock import utcnow

    company = _company(db, name="PT Tersimpan", archived_at=utcnow())
    _company(db, name="PT Aktif")
    db.session.add_all([Lead(title="Prospek arsip", company_name="X", archived_at=utcnow()),
                        Lead(title="Prospek hidup", company_name="Y"),
                        Contact(name="Kontak arsip", archived_at=utcnow())])
    db.session.commit()
    login_as("staff")
    listing = client.get("/crm/perusahaan").get_data(as_text=True)
    assert "PT Aktif" in listing and "PT Tersimpan" not in listing
    archived = client.get("/crm/perusahaan?arsip=1").get_data(as_text=True)
    assert "PT Tersimpan" in archived and "PT Aktif" not in archived
    board = client.get("/crm/").get_data(as_text=True)
    assert "Prospek hidup" in board and "Prospek arsip" not in board
    assert "Prospek arsip" not in client.get("/crm/prospek").get_data(as_text=True)
    assert "Prospek arsip" in client.get("/crm/prospek?arsip=1").get_data(as_text=True)
    assert "Kontak arsip" not in client.get("/crm/kontak").get_data(as_text=True)
    assert "Kontak arsip" in client.get("/crm/kontak?arsip=1").get_data(as_text=True)
    detail = client.get(f"/crm/perusahaan/{company.id}").get_data(as_text=True)
    assert 'data-testid="archived-note"' in detail and "Pulihkan" not in detail


def test_only_an_admin_restores_an_archived_record(client, db, login_as, make_client):
    from app.core.clock import utcnow

    lead = Lead(title="Kembali lagi", company_name="PT B", archived_at=utcnow())
    db.session.add(lead)
    db.session.commit()
    login_as("staff")
    response = client.post(f"/crm/prospek/{lead.id}/pulihkan")
    assert response.status_code == 403
    assert "Hanya manajer CRM" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).archived_at is not None
    admin_client = make_client()
    admin = make_user(roles=("admin",))
    db.session.commit()
    login_as(admin, admin_client)
    assert "Pulihkan" in admin_client.get(f"/crm/prospek/{lead.id}").get_data(as_text=True)
    response = admin_client.post(f"/crm/prospek/{lead.id}/pulihkan")
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).archived_at is None
    assert [e.actor_id for e in _audits(db, "crm.restore")] == [admin.id]
    # Not archived any more: restoring again is a conflict, archiving twice too.
    assert admin_client.post(f"/crm/prospek/{lead.id}/pulihkan").status_code == 409
    assert admin_client.post(f"/crm/prospek/{lead.id}/arsipkan").status_code == 303
    assert admin_client.post(f"/crm/prospek/{lead.id}/arsipkan").status_code == 409


def test_confirm_step_is_a_page_without_js_and_a_fragment_for_htmx(client, db, login_as):
    company = _company(db)
    login_as("staff")
    page = client.get(f"/crm/perusahaan/{company.id}/hapus")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "<html" in text and "Ya, hapus" in text
    fragment = client.get(f"/crm/perusahaan/{company.id}/hapus",
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and 'id="crm-confirm"' in fragment
    detail = client.get(f"/crm/perusahaan/{company.id}").get_data(as_text=True)
    assert f'hx-get="/crm/perusahaan/{company.id}/hapus"' in detail
    assert client.get(f"/crm/bogus/{company.id}/hapus").status_code == 404
    assert client.get("/crm/perusahaan/999999/hapus").status_code == 404
    # Activities are deleted, never archived.
    assert client.get(f"/crm/aktivitas/{company.id}/arsipkan").status_code == 404


def test_deleting_a_contact_keeps_its_activities_on_the_company_timeline(client, db,
                                                                         login_as):
    company = _company(db)
    contact = Contact(name="Ani", company_id=company.id)
    db.session.add(contact)
    db.session.flush()
    shared = Activity(kind=ActivityKind.CALL, subject="Telepon Ani", company_id=company.id,
                      contact_id=contact.id)
    own = Activity(kind=ActivityKind.NOTE, subject="Hanya kontak", contact_id=contact.id)
    db.session.add_all([shared, own])
    db.session.flush()
    contact_id, shared_id, own_id, company_id = contact.id, shared.id, own.id, company.id
    db.session.commit()
    login_as("staff")
    assert client.post(f"/crm/kontak/{contact_id}/hapus").status_code == 303
    db.session.expire_all()
    assert db.session.get(Contact, contact_id) is None
    assert db.session.get(Activity, shared_id).contact_id is None
    assert db.session.get(Activity, own_id) is None
    assert "Telepon Ani" in client.get(f"/crm/perusahaan/{company_id}").get_data(as_text=True)


def test_logged_activities_are_edited_and_deleted_status_history_is_not(client, db,
                                                                         login_as):
    company = _company(db)
    note = Activity(kind=ActivityKind.NOTE, subject="Catatan lama", company_id=company.id)
    status = Activity(kind=ActivityKind.STATUS, subject="Status: Baru", company_id=company.id)
    db.session.add_all([note, status])
    db.session.commit()
    login_as("staff")
    response = client.post(f"/crm/aktivitas/{note.id}/ubah", data={
        "kind": "meeting", "subject": "Rapat baru", "body": "Isi", "occurred_at": ""})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/crm/perusahaan/{company.id}"
    response = client.post(f"/crm/aktivitas/{note.id}/ubah", data={"kind": "meeting",
                                                                    "subject": ""})
    assert response.status_code == 422
    db.session.expire_all()
    assert (db.session.get(Activity, note.id).kind,
            db.session.get(Activity, note.id).subject) == ("meeting", "Rapat baru")
    assert client.get(f"/crm/aktivitas/{status.id}/ubah").status_code == 409
    assert client.post(f"/crm/aktivitas/{status.id}/hapus").status_code == 409
    note_id, status_id = note.id, status.id
    assert client.post(f"/crm/aktivitas/{note_id}/hapus").status_code == 303
    db.session.expire_all()
    assert db.session.get(Activity, note_id) is None
    assert db.session.get(Activity, status_id) is not None
    assert [e.object_type for e in _audits(db, "crm.delete")] == ["activity"]


def test_task_edit_changes_every_field_and_announces_the_new_assignee(client, db, login_as):
    me, colleague = make_staff(name="Sari"), make_staff(name="Budi")
    company = _company(db)
    lead = Lead(title="Serum", company_name="PT A")
    task = Task(title="Lama", assignee_id=me.id, due_date=wib_today() - timedelta(days=3),
                company_id=company.id)
    db.session.add_all([lead, task])
    db.session.flush()
    task_id, company_id, lead_id, due = task.id, company.id, lead.id, str(task.due_date)
    me_id, colleague_id = me.id, colleague.id
    db.session.commit()
    login_as(me)
    form = client.get(f"/crm/tugas/{task_id}/ubah").get_data(as_text=True)
    assert f'<option selected value="company:{company_id}">' in form
    received: list[tuple[int, dict]] = []
    order: list[tuple[str, object]] = []

    def listener(sender, **kwargs):
        order.append(("signal", object_session(sender)))
        received.append((sender.assignee_id, kwargs))

    def committed(session):
        order.append(("commit", session))

    sa_event.listen(Session, "after_commit", committed)
    task_assigned.connect(listener)
    try:
        # The old due date may stay though it is past; every other field changes.
        response = client.post(f"/crm/tugas/{task_id}/ubah", data={
            "title": "Baru", "due_date": due, "assignee_id": str(colleague_id),
            "priority": "high", "related": f"lead:{lead_id}", "description": "Catatan"})
        assert response.status_code == 303
        # Sent after the commit of the request's session (which wrote the change).
        signal_at = [kind for kind, _ in order].index("signal")
        request_session = order[signal_at][1]
        assert ("commit", request_session) in order[:signal_at]
        db.session.expire_all()
        assert db.session.get(Task, task_id).lead_id == lead_id
        db.session.commit()
        # Same assignee again: no announcement.
        response = client.post(f"/crm/tugas/{task_id}/ubah", data={
            "title": "Baru lagi", "due_date": "", "assignee_id": str(colleague_id),
            "priority": "high", "related": "", "description": ""})
        assert response.status_code == 303
    finally:
        task_assigned.disconnect(listener)
        sa_event.remove(Session, "after_commit", committed)
    assert received == [(colleague_id, {"previous_assignee_id": me_id, "reason": None})]
    assert [kind for kind, _ in order].count("signal") == 1
    db.session.expire_all()
    task = db.session.get(Task, task_id)
    assert (task.title, task.assignee_id, task.priority, task.lead_id, task.company_id,
            task.due_date) == ("Baru lagi", colleague_id, "high", None, None, None)
    kinds = db.session.scalars(select(Activity.kind).where(Activity.task_id == task.id)).all()
    assert kinds == [ActivityKind.ASSIGNMENT]


def test_task_edit_refuses_bad_input_and_writes_nothing(client, db, login_as):
    me = make_staff()
    customer = make_user(roles=("customer",))
    task = Task(title="Tetap", assignee_id=me.id)
    db.session.add(task)
    db.session.commit()
    login_as(me)
    past = str(wib_today() - timedelta(days=1))
    response = client.post(f"/crm/tugas/{task.id}/ubah", data={
        "title": "Diubah", "due_date": past, "assignee_id": str(me.id), "priority": "normal",
        "related": ""})
    assert response.status_code == 422
    assert "Tenggat tidak boleh sebelum hari ini." in response.get_data(as_text=True)
    response = client.post(f"/crm/tugas/{task.id}/ubah", data={
        "title": "Diubah", "assignee_id": str(customer.id), "priority": "normal",
        "related": ""})
    assert response.status_code == 422
    response = client.post(f"/crm/tugas/{task.id}/ubah", data={
        "title": "Diubah", "assignee_id": str(me.id), "priority": "normal",
        "related": "lead:999999"})
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Task, task.id).title == "Tetap"


def test_new_task_with_a_due_date_in_the_past_is_refused(client, db, login_as):
    me = make_staff()
    db.session.commit()
    login_as(me)
    response = client.post("/crm/tugas/baru", data={
        "title": "Kemarin", "priority": "normal", "assignee_id": str(me.id),
        "due_date": str(wib_today() - timedelta(days=1))})
    assert response.status_code == 422
    assert "Tenggat tidak boleh sebelum hari ini." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Task)) == 0


def test_new_fields_are_saved_shown_and_validated(client, db, login_as):
    login_as("staff")
    response = client.post("/crm/perusahaan/baru", data={"name": "PT Minus",
                                                         "employee_count": "-3"})
    assert response.status_code == 422
    assert "Jumlah karyawan tidak boleh negatif." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Company)) == 0
    response = client.post("/crm/perusahaan/baru", data={"name": "PT Besar",
                                                         "employee_count": "1.250"})
    assert response.status_code == 303
    company = db.session.scalars(select(Company)).one()
    assert company.employee_count == 1250
    assert "1250" in client.get(f"/crm/perusahaan/{company.id}").get_data(as_text=True)
    future = str(wib_today() + timedelta(days=1))
    response = client.post("/crm/kontak/baru", data={"name": "Ani", "family_name": "Wijaya",
                                                     "company_id": "", "birth_date": future})
    assert response.status_code == 422
    assert "Tanggal lahir tidak boleh di masa depan." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Contact)) == 0
    response = client.post("/crm/kontak/baru", data={"name": "Ani", "family_name": "Wijaya",
                                                     "company_id": "",
                                                     "birth_date": "1990-05-17"})
    assert response.status_code == 303
    contact = db.session.scalars(select(Contact)).one()
    assert (contact.family_name, str(contact.birth_date)) == ("Wijaya", "1990-05-17")
    page = client.get(f"/crm/kontak/{contact.id}").get_data(as_text=True)
    assert "Ani Wijaya" in page


def test_archived_tasks_leave_the_digest_and_the_assignment_load(db):
    from app.core.clock import utcnow
    from app.core.models import EmailOutbox
    from app.crm.queries import active_task_counts
    from app.crm.services import task_digest_send

    me = make_staff()
    db.session.add_all([Task(title="Arsip", assignee_id=me.id, due_date=wib_today(),
                             archived_at=utcnow()),
                        Task(title="Hidup", assignee_id=me.id, due_date=wib_today())])
    db.session.flush()
    assert active_task_counts() == {me.id: 1}
    task_digest_send()
    db.session.flush()
    outbox = db.session.scalars(select(EmailOutbox)).one()
    assert "Hidup" in outbox.body_text and "Arsip" not in outbox.body_text


def test_archived_company_is_not_offered_for_new_records_but_stays_on_its_own(client, db,
                                                                              login_as):
    from app.core.clock import utcnow

    active = _company(db, name="PT Aktif Sentosa")
    archived = _company(db, name="PT Lama Tutup", archived_at=utcnow())
    lead = Lead(title="Lulur lama", company_id=archived.id, status=LeadStatus.NEW)
    contact = Contact(name="Dewi", company_id=archived.id)
    db.session.add_all([lead, contact])
    db.session.commit()
    login_as("staff")
    for path in ("/crm/prospek/baru", "/crm/kontak/baru"):
        page = client.get(path).get_data(as_text=True)
        assert f'value="{active.id}"' in page and "PT Aktif Sentosa" in page, path
        assert "PT Lama Tutup" not in page, path
    # A record under the archived company keeps it selectable, so saving it changes nothing.
    for path in (f"/crm/prospek/{lead.id}/ubah", f"/crm/kontak/{contact.id}/ubah"):
        page = client.get(path).get_data(as_text=True)
        assert "PT Lama Tutup" in page and "PT Aktif Sentosa" in page, path
