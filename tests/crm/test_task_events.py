"""Task events by email: the assignee hears of a task created for them, reassigned to them
(with the >10 rule's reason) or due tomorrow; once per event, in their language, through the
outbox (HTML and text), unless they switched that kind off in their profile."""

from __future__ import annotations

import email
import threading
from datetime import timedelta
from email import policy

from sqlalchemy import func, select

from app.core.models import EmailOutbox
from app.crm.events import task_due_notices_send
from app.crm.models import Task, TaskStatus
from app.crm.services import task_create, wib_today
from app.crm.signals import task_assigned
from app.notifications.models import NotificationOptOut, NotificationSent
from app.notifications.prefs import Channel, Kind
from tests.crm.helpers import give_tasks, make_staff
from tests.live import LiveBrowser


def _emails(db, template: str) -> list[EmailOutbox]:
    db.session.expire_all()
    return list(db.session.scalars(select(EmailOutbox).where(EmailOutbox.template == template)
                                   .order_by(EmailOutbox.id)))


def _opt_out(db, user, kind: str, channel: str = Channel.EMAIL) -> None:
    db.session.add(NotificationOptOut(user_id=user.id, kind=kind, channel=channel))
    db.session.commit()


def test_task_created_for_a_colleague_emails_them_once_over_http(
        app, db, live_url, mail_dir):
    boss = make_staff(name="Bu Sari")
    worker = make_staff(name="Pak Budi")
    db.session.commit()
    boss_email, worker_email, worker_id = boss.email, worker.email, worker.id
    db.session.close()  # SQLite: the live server writes while the test holds no lock
    browser = LiveBrowser(live_url)
    browser.log_in(boss_email)
    browser.get("/crm/tugas/baru")
    response = browser.post("/crm/tugas/baru", {
        "title": "Kirim sampel serum", "priority": "normal", "assignee_id": str(worker_id),
        "due_date": "2026-12-20", "description": "Dua botol"})
    assert response.status == 303
    (row,) = _emails(db, "crm_task_assigned")
    assert row.to_address == worker_email
    assert "Kirim sampel serum" in row.subject
    message = email.message_from_bytes(
        (mail_dir / f"{row.id:08d}-crm_task_assigned.eml").read_bytes(), policy=policy.default)
    assert message["To"] == worker_email
    html = message.get_body(("html",)).get_content()
    text = message.get_body(("plain",)).get_content()
    task = db.session.scalars(select(Task)).one()
    for body in (html, text):
        assert "Bu Sari" in body and "Kirim sampel serum" in body
        assert f"/crm/tugas/{task.id}" in body
    # The signal again (a retry, a second subscriber run): nothing more.
    task_assigned.send(task, previous_assignee_id=None, reason=None)
    assert len(_emails(db, "crm_task_assigned")) == 1


def test_a_task_someone_gives_themselves_sends_nothing(client, db, login_as):
    me = make_staff()
    db.session.commit()
    login_as(me)
    response = client.post("/crm/tugas/baru", data={"title": "Catatan saya",
                                                    "priority": "normal",
                                                    "assignee_id": str(me.id)})
    assert response.status_code == 303
    assert _emails(db, "crm_task_assigned") == []


def test_rule_reassigned_task_tells_the_new_assignee_why(client, db, login_as):
    boss = make_staff("production", name="Bu Sari")
    busy = make_staff(name="Andi")
    free = make_staff(name="Citra")
    give_tasks(busy, 11)
    db.session.commit()
    login_as(boss)
    client.post("/crm/tugas/baru", data={"title": "Follow up PT Ayu", "priority": "normal",
                                         "assignee_id": str(busy.id)})
    (row,) = _emails(db, "crm_task_assigned")
    assert row.to_address == free.email
    assert "dialihkan" in row.subject.lower()
    for body in (row.body_html, row.body_text):
        assert "Dialihkan dari Andi ke Citra: Andi memiliki 11 tugas aktif." in body


def test_email_is_in_the_recipients_language(client, db, login_as):
    boss = make_staff()
    worker = make_staff()
    worker.locale = "en"
    db.session.commit()
    login_as(boss)
    client.post("/crm/tugas/baru", data={"title": "Call", "priority": "normal",
                                         "assignee_id": str(worker.id)})
    (row,) = _emails(db, "crm_task_assigned")
    assert '<html lang="en">' in row.body_html
    assert "This is an automated email from Racik" in row.body_text


def test_switched_off_kind_sends_no_email(client, db, login_as):
    boss = make_staff()
    worker = make_staff()
    db.session.commit()
    _opt_out(db, worker, Kind.TASK_CREATED)
    login_as(boss)
    client.post("/crm/tugas/baru", data={"title": "Telepon", "priority": "normal",
                                         "assignee_id": str(worker.id)})
    assert db.session.scalar(select(func.count()).select_from(Task)) == 1
    assert _emails(db, "crm_task_assigned") == []


def test_rolled_back_task_announces_nothing(app, db):
    boss = make_staff()
    worker = make_staff()
    db.session.commit()
    task_create(title="Batal", assignee=worker, actor=boss)
    db.session.rollback()
    db.session.commit()  # a later commit must not carry the dropped announcement
    assert _emails(db, "crm_task_assigned") == []


def test_reassigned_by_hand_is_a_reassignment_to_the_new_person(db):
    boss = make_staff()
    old = make_staff(name="Lama")
    new = make_staff(name="Baru")
    db.session.commit()
    task = Task(title="Pindah", assignee_id=new.id, created_by_id=boss.id,
                status=TaskStatus.OPEN)
    db.session.add(task)
    db.session.commit()
    task_assigned.send(task, previous_assignee_id=old.id, reason=None)
    (row,) = _emails(db, "crm_task_assigned")
    assert row.to_address == new.email and "Lama" in row.body_text


def _due(db, assignee, days: int, *, status=TaskStatus.OPEN, title="Tugas") -> Task:
    task = Task(title=title, assignee_id=assignee.id, status=status,
                due_date=wib_today() + timedelta(days=days))
    db.session.add(task)
    db.session.commit()
    return task


def test_due_tomorrow_once_per_task_and_due_date(db):
    staff = make_staff()
    tomorrow = _due(db, staff, 1, title="Besok")
    _due(db, staff, 0, title="Hari ini")
    _due(db, staff, 1, status=TaskStatus.DONE, title="Sudah selesai")
    _due(db, staff, 2, title="Lusa")
    assert task_due_notices_send()["emails"] == 1
    db.session.commit()
    assert task_due_notices_send()["emails"] == 0  # a rerun the same day
    db.session.commit()
    (row,) = _emails(db, "crm_task_due")
    assert row.to_address == staff.email and "Besok" in row.subject
    assert "Besok" in row.body_html and "Besok" in row.body_text
    # Moved to another date, it is a new event the day before that date.
    tomorrow.due_date = wib_today() + timedelta(days=3)
    db.session.commit()
    assert task_due_notices_send(today=wib_today() + timedelta(days=2))["emails"] == 1


def test_due_tomorrow_respects_the_switch(db):
    staff = make_staff()
    _due(db, staff, 1)
    _opt_out(db, staff, Kind.TASK_DUE)
    assert task_due_notices_send()["emails"] == 0


def test_two_due_runs_at_once_send_one_email(app, db):
    staff = make_staff()
    _due(db, staff, 1)
    barrier = threading.Barrier(2)
    results: list[dict] = []

    def run() -> None:
        with app.app_context():
            barrier.wait()
            try:
                results.append(task_due_notices_send())
                db.session.commit()
            except Exception as error:  # a loser may also fail on the lock: not a send
                db.session.rollback()
                results.append({"error": str(error)})
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(_emails(db, "crm_task_due")) == 1
    assert db.session.scalar(select(func.count()).select_from(NotificationSent)) == 1


def test_cron_runs_the_due_notices_and_the_telegram_sweep(app, db):
    from werkzeug.utils import import_string

    from app.core.queue import execute_job
    from jobs.cron import CRON_TABLE

    entries = {e.func_path: e for e in CRON_TABLE}
    assert entries["jobs.notifications.task_due_notices"].cron == "0 9 * * *"  # 16:00 WIB
    assert entries["jobs.notifications.telegram_sweep"].interval == 60
    for path in entries:
        import_string(path)
    staff = make_staff()
    _due(db, staff, 1)
    db.session.close()
    first = execute_job(app, "jobs.notifications.task_due_notices", (), {})
    again = execute_job(app, "jobs.notifications.task_due_notices", (), {})  # RQ's retry
    assert (first["emails"], again["emails"]) == (1, 0)
    assert len(_emails(db, "crm_task_due")) == 1


def test_flask_crm_due_runs_the_notices_once(app, db):

    staff = make_staff()
    _due(db, staff, 1)
    db.session.close()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["crm", "due"])
    again = runner.invoke(args=["crm", "due"])
    assert first.exit_code == 0 and "emails 1" in first.output
    assert "emails 0" in again.output
