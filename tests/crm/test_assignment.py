"""The fair auto-assignment rule, as table tests.

A task given to someone who already holds more than the threshold (default 10) of active
tasks goes to the least busy active staff member of the same position; ties go to the
fewest assignments in the last 30 days, then to whoever waited longest (round-robin);
when nobody qualifies it stays, the reason is stored and every admin is emailed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from app.core.models import EmailOutbox
from app.core.settings import setting_set
from app.crm.assignment import SETTING_THRESHOLD, assignment_note, task_assign
from app.crm.models import Activity, ActivityKind, AssignmentReason, Task, TaskStatus
from tests.crm.helpers import give_tasks, make_staff
from tests.factories import make_user


@dataclass(frozen=True)
class Colleague:
    name: str
    position: str | None = "sales"
    active: int = 0  # open/in-progress tasks
    recent: int = 0  # tasks assigned in the last 30 days (done, so not active)
    last_days_ago: float | None = None  # most recent assignment, None = never
    is_active_user: bool = True
    roles: tuple[str, ...] = ("staff",)


@dataclass(frozen=True)
class Case:
    id: str
    requested_load: int
    colleagues: tuple[Colleague, ...] = ()
    expected: str = "requested"  # a colleague's name, or "requested"
    reason: str | None = None
    threshold: int | None = None  # None: the default of 10
    requested_position: str | None = "sales"
    done_tasks: int = 0  # finished tasks of the requested person (never active load)
    extra: dict = field(default_factory=dict)


CASES = [
    Case("exactly-10-active-stays", 10, (Colleague("B"),)),
    Case("11-active-reassigns", 11, (Colleague("B", active=2),), "B",
         AssignmentReason.REASSIGNED),
    Case("done-tasks-are-not-active", 10, (Colleague("B"),), done_tasks=30),
    Case("least-busy-wins", 11, (Colleague("B", active=5), Colleague("C", active=3),
                                 Colleague("D", active=9)), "C", AssignmentReason.REASSIGNED),
    Case("same-position-only", 11, (Colleague("P", position="production"),
                                    Colleague("S", active=7)), "S",
         AssignmentReason.REASSIGNED),
    Case("only-other-positions-nobody", 11, (Colleague("P", position="production"),
                                             Colleague("W", position="warehouse")),
         "requested", AssignmentReason.NOBODY_AVAILABLE),
    Case("tie-fewest-recent-assignments", 11,
         (Colleague("B", active=4, recent=6, last_days_ago=20),
          Colleague("C", active=4, recent=2, last_days_ago=1)), "C",
         AssignmentReason.REASSIGNED),
    Case("tie-round-robin-oldest-last-assignment", 11,
         (Colleague("B", active=4, recent=3, last_days_ago=1),
          Colleague("C", active=4, recent=3, last_days_ago=5)), "C",
         AssignmentReason.REASSIGNED),
    Case("tie-never-assigned-goes-first", 11,
         (Colleague("B", active=0, recent=0, last_days_ago=45),
          Colleague("C", active=0, recent=0, last_days_ago=None)), "C",
         AssignmentReason.REASSIGNED),
    Case("candidate-at-threshold-still-qualifies", 11, (Colleague("B", active=10),), "B",
         AssignmentReason.REASSIGNED),
    Case("everyone-overloaded-nobody", 12, (Colleague("B", active=11),
                                            Colleague("C", active=15)),
         "requested", AssignmentReason.NOBODY_AVAILABLE),
    Case("no-colleague-at-all-nobody", 11, (), "requested", AssignmentReason.NOBODY_AVAILABLE),
    Case("inactive-and-non-staff-excluded", 11,
         (Colleague("Off", is_active_user=False), Colleague("Adm", roles=("admin",)),
          Colleague("Cust", roles=("customer",))),
         "requested", AssignmentReason.NOBODY_AVAILABLE),
    Case("no-position-nobody", 11, (Colleague("B", position=None),), "requested",
         AssignmentReason.NOBODY_AVAILABLE, requested_position=None),
    Case("threshold-setting-3-reassigns-at-4", 4, (Colleague("B", active=1),), "B",
         AssignmentReason.REASSIGNED, threshold=3),
    Case("threshold-setting-3-keeps-at-3", 3, (Colleague("B"),), threshold=3),
]


def _arrange(case: Case):
    admin = make_user(roles=("admin",), name="Admin Satu")
    requested = make_staff(case.requested_position, name="A")
    give_tasks(requested, case.requested_load)
    give_tasks(requested, case.done_tasks, status=TaskStatus.DONE)
    people = {"requested": requested}
    for colleague in case.colleagues:
        user = make_staff(colleague.position, name=colleague.name,
                          active=colleague.is_active_user, roles=colleague.roles)
        give_tasks(user, colleague.active)
        if colleague.recent:
            give_tasks(user, colleague.recent, status=TaskStatus.DONE,
                       days_ago=max(colleague.last_days_ago or 2, 2))
        if colleague.last_days_ago is not None:
            give_tasks(user, 1, status=TaskStatus.DONE, days_ago=colleague.last_days_ago)
        people[colleague.name] = user
    if case.threshold is not None:
        setting_set(key=SETTING_THRESHOLD, value=case.threshold, actor=admin)
    return admin, people


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_reassignment_rule(db, case: Case):
    admin, people = _arrange(case)
    requested = people["requested"]
    task = Task(title="Telepon calon klien", assignee_id=requested.id)
    db.session.add(task)
    db.session.flush()

    outcome = task_assign(task=task, assignee=requested, actor=admin)
    db.session.commit()

    assert task.assignee_id == people[case.expected].id
    assert outcome.reason == case.reason
    assert task.assignment_reason == case.reason
    outbox = db.session.scalars(select(EmailOutbox)).all()
    if case.reason is None:
        assert task.requested_assignee_id is None and task.assignment_load is None
        assert outbox == []
        return
    assert task.requested_assignee_id == requested.id
    assert task.assignment_load == case.requested_load
    logged = db.session.scalars(select(Activity).where(Activity.task_id == task.id)).one()
    assert logged.kind == ActivityKind.ASSIGNMENT
    if case.reason == AssignmentReason.NOBODY_AVAILABLE:
        admins = [admin.email] + [u.email for u in people.values() if u.has_role("admin")]
        assert sorted(row.to_address for row in outbox) == sorted(admins)  # every admin
        assert "A" in outbox[0].subject
    else:
        assert outbox == []


def test_reason_is_shown_with_names_and_count(db):
    admin, people = _arrange(Case("x", 11, (Colleague("Budi"),)))
    people["requested"].name = "Sari"
    task = Task(title="Kirim sampel", assignee_id=people["requested"].id)
    db.session.add(task)
    db.session.flush()
    task_assign(task=task, assignee=people["requested"], actor=admin)
    with force_locale("id"):
        assert assignment_note(task) == (
            "Dialihkan dari Sari ke Budi: Sari memiliki 11 tugas aktif.")
    with force_locale("en"):
        assert assignment_note(task) == (
            "Reassigned from Sari to Budi: Sari has 11 active tasks.")


def test_the_task_being_assigned_does_not_count_toward_its_own_load(db):
    admin, people = _arrange(Case("x", 10, (Colleague("B"),)))
    requested = people["requested"]
    task = Task(title="Tugas baru", assignee_id=requested.id, status=TaskStatus.OPEN)
    db.session.add(task)
    db.session.flush()  # the new task is already an open row of `requested`
    outcome = task_assign(task=task, assignee=requested, actor=admin)
    assert outcome.reason is None and task.assignee_id == requested.id


def test_tasks_created_through_the_page_are_reassigned_and_say_why(client, db, login_as):
    actor = make_staff("production", name="Pemberi")  # not a candidate: other position
    overloaded = make_staff("sales", name="Sibuk")
    free = make_staff("sales", name="Luang")
    give_tasks(overloaded, 11)
    db.session.commit()
    login_as(actor)
    response = client.post("/crm/tugas/baru", data={
        "title": "Follow up pameran", "priority": "normal", "assignee_id": str(overloaded.id)})
    assert response.status_code == 303
    task = db.session.scalars(select(Task).where(Task.title == "Follow up pameran")).one()
    assert task.assignee_id == free.id
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Dialihkan dari Sibuk ke Luang: Sibuk memiliki 11 tugas aktif." in page
