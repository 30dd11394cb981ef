"""Fair task assignment: nobody's queue grows past the threshold while a colleague of the
same position has room.

The rule (issue #8, "auto-assignment"):

- "active" tasks are those open or in progress;
- a task given to a person who *already* holds more than `threshold` active tasks (the
  setting `crm.reassign_threshold`, default 10) goes instead to the least busy active
  staff member with the same position (sales, production...);
- ties between equally busy candidates go to whoever received the fewest tasks in the last
  30 days, then to whoever waited longest since their last assignment (never assigned
  first: round-robin), then to the lowest id (stable);
- if the least busy candidate is also above the threshold (or there is no candidate), the
  task stays with the original person, the reason is stored on the task, and every admin
  is emailed.

Everything runs inside the caller's transaction (the counts and the write see the same
snapshot); the service flushes, the route commits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from app.accounts.models import Role, RoleName, User, user_roles
from app.core.clock import utcnow
from app.core.http import public_url
from app.core.mail import mail_queue
from app.core.settings import setting_get
from app.crm.models import Activity, ActivityKind, AssignmentReason, Task, TaskStatus
from app.extensions import db

log = logging.getLogger(__name__)

SETTING_THRESHOLD = "crm.reassign_threshold"
DEFAULT_THRESHOLD = 10
FAIRNESS_WINDOW = timedelta(days=30)
_NEVER = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Workload:
    user: User
    active: int  # open + in progress, the task being assigned excluded
    recent: int  # tasks assigned in the fairness window
    last_assigned_at: datetime | None

    def sort_key(self) -> tuple:
        return (self.active, self.recent, self.last_assigned_at or _NEVER, self.user.id)


@dataclass(frozen=True)
class AssignmentOutcome:
    assignee: User
    requested: User
    reason: str | None  # AssignmentReason or None when it simply went to `requested`
    load: int  # active tasks `requested` already had


def reassign_threshold() -> int:
    value = setting_get(SETTING_THRESHOLD, DEFAULT_THRESHOLD)
    try:
        return int(value)
    except (TypeError, ValueError):
        return DEFAULT_THRESHOLD


def workloads(users: list[User], *, exclude_task_id: int | None = None) -> list[Workload]:
    """Active count, recent assignments and last assignment time for each of `users`."""
    if not users:
        return []
    ids = [user.id for user in users]
    active_stmt = (
        select(Task.assignee_id, func.count())
        .where(Task.assignee_id.in_(ids), Task.status.in_(TaskStatus.ACTIVE),
               Task.archived_at.is_(None))
        .group_by(Task.assignee_id)
    )
    if exclude_task_id is not None:
        active_stmt = active_stmt.where(Task.id != exclude_task_id)
    active = dict(db.session.execute(active_stmt).all())
    since = utcnow() - FAIRNESS_WINDOW
    history_stmt = select(
        Task.assignee_id,
        func.count(Task.id).filter(Task.assigned_at >= since),
        func.max(Task.assigned_at),
    ).where(Task.assignee_id.in_(ids))
    if exclude_task_id is not None:
        history_stmt = history_stmt.where(Task.id != exclude_task_id)
    history = {
        row[0]: (row[1], row[2])
        for row in db.session.execute(history_stmt.group_by(Task.assignee_id))
    }
    result = []
    for user in users:
        recent, last = history.get(user.id, (0, None))
        if isinstance(last, str):  # defensive: a driver that hands back the raw text
            last = datetime.fromisoformat(last)
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        result.append(Workload(user=user, active=active.get(user.id, 0), recent=recent or 0,
                               last_assigned_at=last))
    return result


def colleagues_of(user: User) -> list[User]:
    """Active staff members holding `user`'s position, `user` excluded."""
    if not user.position:
        return []
    return list(
        db.session.scalars(
            select(User)
            .join(user_roles, user_roles.c.user_id == User.id)
            .join(Role, Role.id == user_roles.c.role_id)
            .where(
                Role.name == RoleName.STAFF,
                User.active.is_(True),
                User.position == user.position,
                User.id != user.id,
            )
            .order_by(User.id)
        ).unique()
    )


def assignee_choose(*, requested: User, threshold: int,
                    exclude_task_id: int | None = None) -> AssignmentOutcome:
    """Decide who gets a task meant for `requested` (pure decision, writes nothing)."""
    (own,) = workloads([requested], exclude_task_id=exclude_task_id)
    if own.active <= threshold:
        return AssignmentOutcome(assignee=requested, requested=requested, reason=None,
                                 load=own.active)
    candidates = workloads(colleagues_of(requested), exclude_task_id=exclude_task_id)
    best = min(candidates, key=Workload.sort_key, default=None)
    if best is None or best.active > threshold:
        return AssignmentOutcome(assignee=requested, requested=requested,
                                 reason=AssignmentReason.NOBODY_AVAILABLE, load=own.active)
    return AssignmentOutcome(assignee=best.user, requested=requested,
                             reason=AssignmentReason.REASSIGNED, load=own.active)


def assignment_note(task: Task) -> str:
    """The reason the task is not (only) with the person it was given to, in the current
    language; empty when there is none."""
    requested = task.requested_assignee
    if task.assignment_reason == AssignmentReason.REASSIGNED and requested is not None:
        return str(_l("Dialihkan dari %(source)s ke %(target)s: %(source)s memiliki "
                      "%(count)s tugas aktif.", source=requested.name, target=task.assignee.name,
                      count=task.assignment_load))
    if task.assignment_reason == AssignmentReason.NOBODY_AVAILABLE:
        return str(_l("Tetap pada %(name)s meskipun memiliki %(count)s tugas aktif: tidak ada "
                      "rekan dengan posisi yang sama yang tersedia. Admin telah diberi tahu.",
                      name=task.assignee.name, count=task.assignment_load))
    return ""


def task_assign(*, task: Task, assignee: User, actor: User | None) -> AssignmentOutcome:
    """Give `task` to `assignee`, or to a less busy colleague per the rule above.

    Records the outcome on the task (and an assignment activity when the rule stepped in);
    when nobody can take it, emails every admin. Flushes only.
    """
    threshold = reassign_threshold()
    team_lock(assignee)
    outcome = assignee_choose(requested=assignee, threshold=threshold, exclude_task_id=task.id)
    task.assignee = outcome.assignee
    task.assignee_id = outcome.assignee.id
    task.assigned_at = utcnow()
    task.assignment_reason = outcome.reason
    task.requested_assignee = assignee if outcome.reason else None
    task.requested_assignee_id = assignee.id if outcome.reason else None
    task.assignment_load = outcome.load if outcome.reason else None
    db.session.flush()
    if outcome.reason is None:
        return outcome
    db.session.add(Activity(kind=ActivityKind.ASSIGNMENT, subject=_note_id(task),
                            author_id=actor.id if actor else None, task_id=task.id,
                            company_id=task.company_id, contact_id=task.contact_id,
                            lead_id=task.lead_id))
    log.info("task %s: %s (requested user %s with %s active, threshold %s, assignee %s)",
             task.id, outcome.reason, assignee.id, outcome.load, threshold, outcome.assignee.id)
    if outcome.reason == AssignmentReason.NOBODY_AVAILABLE:
        _notify_admins(task=task, requested=assignee, load=outcome.load, threshold=threshold)
    db.session.flush()
    return outcome


def team_lock(user: User) -> None:
    """Serialise assignments within one position on PostgreSQL: lock the user rows of the
    team (in id order, so two transactions never deadlock) before counting, so two tasks
    created at the same moment cannot both pick the same "least busy" colleague.

    `FOR NO KEY UPDATE` does not conflict with the `FOR KEY SHARE` locks that inserting a
    task (foreign key to users) takes, only with itself. SQLite already serialises writers
    (BEGIN IMMEDIATE) and ignores the clause."""
    stmt = select(User.id).order_by(User.id).with_for_update(key_share=True)
    if user.position:
        stmt = stmt.where((User.position == user.position) | (User.id == user.id))
    else:
        stmt = stmt.where(User.id == user.id)
    db.session.execute(stmt).all()


def _note_id(task: Task) -> str:
    """The note in Indonesian, as stored in the activity log (the log is a record)."""
    from flask_babel import force_locale

    with force_locale("id"):
        return assignment_note(task)


def _notify_admins(*, task: Task, requested: User, load: int, threshold: int) -> None:
    admins = db.session.scalars(
        select(User)
        .join(user_roles, user_roles.c.user_id == User.id)
        .join(Role, Role.id == user_roles.c.role_id)
        .where(Role.name == RoleName.ADMIN, User.active.is_(True))
        .order_by(User.id)
    ).unique()
    for admin in admins:
        mail_queue(
            to=admin.email,
            template="crm_overload",
            subject=_l("Tugas tidak dapat dialihkan: %(name)s kelebihan beban",
                       name=requested.name),
            locale=admin.locale,
            admin_name=admin.name,
            task_url=public_url("crm.task_detail", task_id=task.id),
            team_url=public_url("crm.team"),
            task_title=task.title,
            person_name=requested.name,
            position=requested.position or "",
            load=load,
            threshold=threshold,
        )
