"""Tasks: creation rules, status transitions (409 when illegal), "my tasks" with overdue
highlighted, the htmx row swap, and the daily digest (once per person per WIB date)."""

from __future__ import annotations

import re
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from app.core.models import EmailOutbox
from app.crm.models import Activity, Task, TaskDigestLog, TaskStatus
from app.crm.services import task_digest_send, wib_today
from tests.crm.helpers import make_staff
from tests.factories import make_user


def _task(db, assignee, *, status=TaskStatus.OPEN, due_in: int | None = None,
          title="Telepon klien") -> Task:
    due = wib_today() + timedelta(days=due_in) if due_in is not None else None
    task = Task(title=title, assignee_id=assignee.id, status=status, due_date=due)
    db.session.add(task)
    db.session.commit()
    return task


def test_tasks_can_only_go_to_staff_or_admins(client, db, login_as):
    buyer = make_user(roles=("customer",))
    db.session.commit()
    login_as("staff")
    response = client.post("/crm/tugas/baru", data={"title": "X", "priority": "normal",
                                                    "assignee_id": str(buyer.id)})
    assert response.status_code == 422
    assert "Pilihan tidak valid." in response.get_data(as_text=True)
    assert db.session.scalars(select(Task)).all() == []


def test_missing_title_is_422_and_keeps_what_was_typed(client, db, login_as):
    staff = make_staff()
    db.session.commit()
    login_as(staff)
    response = client.post("/crm/tugas/baru", data={"title": "", "description": "Catatan saya",
                                                    "priority": "high",
                                                    "assignee_id": str(staff.id)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Wajib diisi." in html and "Catatan saya" in html
    assert db.session.scalars(select(Task)).all() == []


def test_task_with_a_related_lead_and_due_date(client, db, login_as):
    from app.crm.models import Lead

    staff = make_staff()
    lead = Lead(title="Serum", company_name="PT A")
    db.session.add(lead)
    db.session.commit()
    login_as(staff)
    form = client.get(f"/crm/tugas/baru?lead_id={lead.id}").get_data(as_text=True)
    assert "Terkait: Serum" in form and "(0 tugas aktif)" in form
    due = str(wib_today() + timedelta(days=3))  # a due date before today is refused
    response = client.post("/crm/tugas/baru", data={
        "title": "Kirim sampel", "priority": "high", "assignee_id": str(staff.id),
        "due_date": due, "lead_id": str(lead.id)})
    assert response.status_code == 303
    task = db.session.scalars(select(Task)).one()
    assert task.lead_id == lead.id and str(task.due_date) == due
    assert task.created_by_id == staff.id and task.assignment_reason is None
    assert "Kirim sampel" in client.get(f"/crm/prospek/{lead.id}").get_data(as_text=True)


def test_my_tasks_highlight_overdue_and_hide_others(client, db, login_as):
    me = make_staff()
    other = make_staff()
    late = _task(db, me, due_in=-1, title="Tugas terlambat")
    soon = _task(db, me, due_in=2, title="Tugas nanti")
    _task(db, other, title="Tugas orang lain")
    _task(db, me, status=TaskStatus.DONE, due_in=-5, title="Tugas selesai")
    login_as(me)
    html = client.get("/crm/tugas").get_data(as_text=True)
    assert "Tugas orang lain" not in html and "Tugas selesai" not in html
    classes = dict(re.findall(r'<li id="task-(\d+)" class="([^"]*)"', html))
    assert "task-overdue" in classes[str(late.id)]
    assert "task-overdue" not in classes[str(soon.id)]
    assert "Terlambat" in html
    assert "Tugas orang lain" in client.get("/crm/tugas?semua=1").get_data(as_text=True)


def test_status_button_with_htmx_returns_the_row(client, db, login_as):
    me = make_staff()
    task = _task(db, me)
    login_as(me)
    response = client.post(f"/crm/tugas/{task.id}/status",
                           data={"status": "in_progress", "view": "list"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<html" not in html and f'id="task-{task.id}"' in html and "Dikerjakan" in html
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == TaskStatus.IN_PROGRESS


def test_status_button_without_js_redirects(client, db, login_as):
    me = make_staff()
    task = _task(db, me)
    login_as(me)
    response = client.post(f"/crm/tugas/{task.id}/status",
                           data={"status": "done", "next": "/crm/tugas"})
    assert response.status_code == 303 and response.headers["Location"] == "/crm/tugas"
    db.session.expire_all()
    task = db.session.get(Task, task.id)
    assert task.status == TaskStatus.DONE and task.completed_at is not None
    assert db.session.scalars(select(Activity.subject)).all() == ["Status: Terbuka → Selesai"]


def test_illegal_task_transition_is_409(client, db, login_as):
    me = make_staff()
    task = _task(db, me, status=TaskStatus.DONE)
    login_as(me)
    response = client.post(f"/crm/tugas/{task.id}/status", data={"status": "in_progress"})
    assert response.status_code == 409
    assert "Selesai tidak dapat diubah ke Dikerjakan" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Task, task.id).status == TaskStatus.DONE


def test_daily_digest_once_per_person_per_day(db, mail_dir):
    sari = make_staff(name="Sari")
    budi = make_staff(name="Budi")
    _task(db, sari, due_in=-3, title="Terlambat tiga hari")
    _task(db, sari, due_in=0, title="Hari ini")
    _task(db, sari, due_in=4, title="Minggu depan")
    _task(db, sari, status=TaskStatus.DONE, due_in=-1, title="Sudah selesai")
    _task(db, budi, due_in=1, title="Besok")  # nothing due: no digest for Budi

    assert task_digest_send() == {"sent": 1, "skipped": 0}
    db.session.commit()
    (row,) = db.session.scalars(select(EmailOutbox)).all()
    assert row.to_address == sari.email
    assert "Terlambat tiga hari" in row.body_text and "Hari ini" in row.body_text
    assert "Minggu depan" not in row.body_text and "Sudah selesai" not in row.body_text
    assert "/crm/tugas/" in row.body_html  # absolute links built outside a request

    assert task_digest_send() == {"sent": 0, "skipped": 1}  # same WIB date: not again
    db.session.commit()
    assert len(db.session.scalars(select(EmailOutbox)).all()) == 1
    assert task_digest_send(today=wib_today() + timedelta(days=1))["sent"] == 2
    db.session.commit()
    assert db.session.scalars(select(TaskDigestLog)).all()


def test_digest_cli_and_cron_entry(app, db):
    from jobs.cron import CRON_TABLE

    sari = make_staff()
    _task(db, sari, due_in=-1)
    result = CliRunner().invoke(app.cli, ["crm", "digest"], obj=None)
    assert result.exit_code == 0, result.output
    assert "digests queued 1" in result.output
    entry = next(e for e in CRON_TABLE if e.func_path == "jobs.crm.task_digest")
    assert entry.cron == "0 0 * * *"  # 07:00 WIB
