"""Tasks created at the same moment never push a colleague past the threshold together:
the assignment counts and writes inside one serialised section per position (row locks on
PostgreSQL, BEGIN IMMEDIATE on SQLite). Real threads, one browser session each."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.crm.models import AssignmentReason, Task, TaskStatus
from tests.conftest import log_in
from tests.crm.helpers import give_tasks, make_staff
from tests.factories import make_user

THREADS = 4


def test_concurrent_reassignments_respect_the_threshold(app, make_client, db):
    overloaded = [make_staff("sales", name=f"Sibuk {n}") for n in range(THREADS)]
    for person in overloaded:
        give_tasks(person, 11)
    spare = make_staff("sales", name="Luang")
    give_tasks(spare, 9)  # room for exactly two more before passing the threshold of 10
    actors = [make_user(roles=("admin",)) for _ in range(THREADS)]
    # Read before committing: touching expired objects later would open a transaction in
    # this thread (holding SQLite's write lock) while the requests run.
    assignee_ids = [str(person.id) for person in overloaded]
    emails = [actor.email for actor in actors]
    spare_id = spare.id
    db.session.commit()
    clients = [make_client() for _ in range(THREADS)]
    for client, email in zip(clients, emails, strict=True):
        log_in(client, email)
    tokens = [client.csrf_token() for client in clients]
    barrier = threading.Barrier(THREADS)
    statuses = [0] * THREADS

    def worker(index: int) -> None:
        barrier.wait()
        response = clients[index].open("/crm/tugas/baru", method="POST", csrf=False, data={
            "title": f"Serentak {index}", "priority": "normal",
            "assignee_id": assignee_ids[index], "csrf_token": tokens[index]})
        statuses[index] = response.status_code

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert statuses == [303] * THREADS
    new_tasks = db.session.scalars(select(Task).where(Task.title.like("Serentak%"))).all()
    to_spare = [task for task in new_tasks if task.assignee_id == spare_id]
    kept = [task for task in new_tasks if task.assignment_reason
            == AssignmentReason.NOBODY_AVAILABLE]
    assert len(to_spare) == 2 and len(kept) == THREADS - 2
    spare_load = db.session.scalar(select(func.count(Task.id)).where(
        Task.assignee_id == spare_id, Task.status.in_(TaskStatus.ACTIVE)))
    assert spare_load == 11


def _race(make_client, emails: list[str], path: str) -> list[int]:
    """POST `path` from one logged-in browser per email, all at the same moment."""
    clients = [make_client() for _ in emails]
    for client, email in zip(clients, emails, strict=True):
        log_in(client, email)
    tokens = [client.csrf_token() for client in clients]
    barrier = threading.Barrier(len(clients))
    statuses = [0] * len(clients)

    def worker(index: int) -> None:
        barrier.wait()
        response = clients[index].open(path, method="POST", csrf=False,
                                       data={"csrf_token": tokens[index]})
        statuses[index] = response.status_code

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return sorted(statuses)


def test_a_company_deleted_twice_at_once_is_deleted_and_audited_once(make_client, db):
    from app.accounts.models import Company
    from app.audit.models import AuditEntry

    company = Company(name="PT Serentak")
    db.session.add(company)
    staff = [make_user(roles=("staff",)) for _ in range(THREADS)]
    db.session.flush()
    company_id, emails = company.id, [person.email for person in staff]
    db.session.commit()
    statuses = _race(make_client, emails, f"/crm/perusahaan/{company_id}/hapus")
    assert statuses == [303] + [404] * (THREADS - 1)
    assert db.session.get(Company, company_id) is None
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "crm.delete")) == 1


def test_a_lead_archived_twice_at_once_is_archived_and_audited_once(make_client, db):
    from app.audit.models import AuditEntry
    from app.crm.models import Lead

    lead = Lead(title="Serentak", company_name="PT S")
    db.session.add(lead)
    staff = [make_user(roles=("staff",)) for _ in range(THREADS)]
    db.session.flush()
    lead_id, emails = lead.id, [person.email for person in staff]
    db.session.commit()
    statuses = _race(make_client, emails, f"/crm/prospek/{lead_id}/arsipkan")
    assert statuses == [303] + [409] * (THREADS - 1)
    assert db.session.get(Lead, lead_id).archived_at is not None
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "crm.archive")) == 1


def test_a_lead_created_while_its_company_is_deleted_never_leaves_an_open_orphan(
        make_client, db):
    """Either the delete goes first (the lead is refused: no such company) or the lead
    does (the delete is refused: an open lead): never both, never a 500."""
    from app.accounts.models import Company
    from app.crm.models import Lead, LeadStatus

    rounds = 3
    companies = [Company(name=f"PT Balapan {n}") for n in range(rounds)]
    db.session.add_all(companies)
    deleter, creator = make_user(roles=("staff",)), make_user(roles=("staff",))
    db.session.flush()
    company_ids = [company.id for company in companies]
    emails = [deleter.email, creator.email]
    db.session.commit()
    clients = [make_client(), make_client()]
    for client, email in zip(clients, emails, strict=True):
        log_in(client, email)
    for company_id in company_ids:
        tokens = [client.csrf_token() for client in clients]
        barrier = threading.Barrier(2)
        statuses = [0, 0]

        def delete(cid=company_id, token=tokens[0], barrier=barrier,
                   statuses=statuses) -> None:
            barrier.wait()
            statuses[0] = clients[0].open(f"/crm/perusahaan/{cid}/hapus", method="POST",
                                          csrf=False, data={"csrf_token": token}).status_code

        def create(cid=company_id, token=tokens[1], barrier=barrier,
                   statuses=statuses) -> None:
            barrier.wait()
            statuses[1] = clients[1].open("/crm/prospek/baru", method="POST", csrf=False, data={
                "csrf_token": token, "title": "Balapan", "company_id": str(cid),
                "source": "other", "owner_id": ""}).status_code

        threads = [threading.Thread(target=delete), threading.Thread(target=create)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert sorted(statuses) in ([303, 409], [303, 422]), statuses
        db.session.expire_all()
        company = db.session.get(Company, company_id)
        open_leads = db.session.scalars(select(Lead).where(
            Lead.title == "Balapan", Lead.status.in_(LeadStatus.OPEN),
            Lead.company_id.is_(None))).all()
        assert open_leads == [], "an open lead lost its company"
        if company is None:
            assert statuses == [303, 422]
        else:
            assert statuses == [409, 303]
        db.session.commit()
