"""Task events to the assignee, by email (outbox) and Telegram, once per event.

- `task_assigned` (app/crm/signals.py) is sent after the commit that gave a task its
  assignee: `task_assigned_announce` (called by the services) holds it until the outermost
  transaction commits, then sends it in a fresh app context (its own session), so the
  subscribers can write their outbox rows; a rollback drops it.
- `task_assigned_notify` (subscribed at app start) emails the assignee "a task for you" or
  "a task reassigned to you" (with the reason when the >10 open-tasks rule moved it) and
  queues the same on Telegram. Nothing for a task someone gave themselves.
- `task_due_notices_send` (daily job) tells each assignee about their active tasks due
  tomorrow (WIB).

Each (person, kind, channel, event) is claimed once (`notification_once`): a job retry, a
cron rerun or a second signal for the same assignment sends nothing more.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.core.app_object import current_app_object
from app.core.db import after_outer_commit, after_outer_rollback
from app.core.http import public_url
from app.core.mail import mail_queue
from app.crm.models import AssignmentReason, Task, TaskStatus
from app.crm.signals import task_assigned
from app.extensions import db
from app.notifications.prefs import Channel, Kind, notification_claim
from app.notifications.telegram import telegram_queue

log = logging.getLogger(__name__)

_PENDING = "racik_crm_task_assigned"  # session.info: announcements waiting for the commit
_READY = "racik_crm_task_assigned_ready"  # committed, to send once the transaction ended


def task_assigned_announce(task: Task, *, previous_assignee_id: int | None,
                           reason: str | None) -> None:
    """Send `task_assigned` for `task` once the current transaction commits."""
    db.session.info.setdefault(_PENDING, []).append((task.id, previous_assignee_id, reason))


def _install_session_hooks() -> None:
    def _committed(session: Session) -> None:
        pending = session.info.pop(_PENDING, None)
        if pending:
            session.info.setdefault(_READY, []).extend(pending)

    def _rolled_back(session: Session) -> None:
        session.info.pop(_PENDING, None)

    after_outer_commit(_committed)
    after_outer_rollback(_rolled_back)

    @event.listens_for(Session, "after_transaction_end")
    def _ended(session: Session, transaction) -> None:
        # After the outermost transaction, its connection is back in the pool; the
        # subscribers write in their own session (a new app context).
        if transaction.parent is None and _READY in session.info:
            _send(current_app_object(), session.info.pop(_READY))


def _send(app: Flask, announcements: list[tuple[int, int | None, str | None]]) -> None:
    for task_id, previous_assignee_id, reason in announcements:
        with app.app_context():
            try:
                task = db.session.get(Task, task_id)
                if task is not None:
                    task_assigned.send(task, previous_assignee_id=previous_assignee_id,
                                       reason=reason)
            except Exception:
                # The task is committed; a notice that failed is logged, never a 500.
                db.session.rollback()
                log.exception("task %s: assignment notices failed", task_id)
            finally:
                db.session.remove()


def _event_kind(task: Task, previous_assignee_id: int | None, reason: str | None) -> str:
    if reason == AssignmentReason.REASSIGNED:
        return Kind.TASK_REASSIGNED
    if previous_assignee_id is not None and previous_assignee_id != task.assignee_id:
        return Kind.TASK_REASSIGNED
    return Kind.TASK_CREATED


def task_assigned_notify(task: Task, *, previous_assignee_id: int | None = None,
                         reason: str | None = None, **_: Any) -> dict[str, bool]:
    """Email (and Telegram) the task's assignee about this assignment; commits its own
    transaction (it runs after the one that assigned the task)."""
    assignee = task.assignee
    if assignee is None:
        return {"email": False, "telegram": False}
    kind = _event_kind(task, previous_assignee_id, reason)
    if (kind == Kind.TASK_CREATED and task.created_by_id == assignee.id
            and previous_assignee_id is None):
        return {"email": False, "telegram": False}  # they gave it to themselves
    when = task.assigned_at.isoformat() if task.assigned_at else "-"
    event_key = f"task:{task.id}:{assignee.id}:{when}"
    sent = {"email": False, "telegram": False}
    context = _task_context(task, kind=kind, reason=reason, previous_id=previous_assignee_id)
    if notification_claim(user=assignee, kind=kind, channel=Channel.EMAIL, event_key=event_key):
        with force_locale(assignee.locale):
            note = _note(task, reason)
        subject = (_l("Tugas dialihkan kepada Anda: %(title)s", title=task.title)
                   if kind == Kind.TASK_REASSIGNED
                   else _l("Tugas baru untuk Anda: %(title)s", title=task.title))
        mail_queue(to=assignee.email, template="crm_task_assigned", subject=subject,
                   locale=assignee.locale, note=note, **context)
        sent["email"] = True
    with force_locale(assignee.locale):
        note = _note(task, reason)
    sent["telegram"] = telegram_queue(user=assignee, kind=kind, event_key=event_key,
                                      template="crm_task_assigned", note=note,
                                      **context) is not None
    db.session.commit()
    return sent


def _note(task: Task, reason: str | None) -> str:
    from app.crm.assignment import assignment_note

    return assignment_note(task) if reason == AssignmentReason.REASSIGNED else ""


def _task_context(task: Task, *, kind: str, reason: str | None = None,
                  previous_id: int | None = None) -> dict[str, Any]:
    previous = db.session.get(User, previous_id) if previous_id else None
    return {
        "user_name": task.assignee.name,
        "task": task,
        "reassigned": kind == Kind.TASK_REASSIGNED,
        "previous_name": previous.name if previous is not None else "",
        "creator_name": task.created_by.name if task.created_by is not None else "",
        "task_url": public_url("crm.task_detail", task_id=task.id),
        "prefs_url": public_url("notifications.preferences"),
    }


def task_due_notices_send(*, today: date | None = None) -> dict[str, int]:
    """Tell each assignee about each of their active tasks due tomorrow (WIB), by email and
    Telegram as they chose. Once per task and due date: a rerun, a retry, or a second job at
    the same moment sends nothing more (a task moved to another date is a new event).
    Flushes; the job commits."""
    from app.crm.services import wib_today

    tomorrow = (today or wib_today()) + timedelta(days=1)
    tasks = db.session.scalars(
        select(Task).join(User, User.id == Task.assignee_id)
        .where(Task.status.in_(TaskStatus.ACTIVE), Task.due_date == tomorrow,
               User.active.is_(True))
        .order_by(Task.assignee_id, Task.id)).all()
    emails = telegrams = 0
    for task in tasks:
        assignee = task.assignee
        event_key = f"task:{task.id}:{task.due_date.isoformat()}"
        context = _task_context(task, kind=Kind.TASK_DUE)
        if notification_claim(user=assignee, kind=Kind.TASK_DUE, channel=Channel.EMAIL,
                              event_key=event_key):
            mail_queue(to=assignee.email, template="crm_task_due", locale=assignee.locale,
                       subject=_l("Jatuh tempo besok: %(title)s", title=task.title),
                       **context)
            emails += 1
        if telegram_queue(user=assignee, kind=Kind.TASK_DUE, event_key=event_key,
                          template="crm_task_due", **context) is not None:
            telegrams += 1
    log.info("task due notices for %s: %s tasks, %s emails, %s telegram", tomorrow,
             len(tasks), emails, telegrams)
    return {"tasks": len(tasks), "emails": emails, "telegram": telegrams}


_installed = False


def init_crm_events(app: Flask) -> None:
    """Connect the task notices to `task_assigned` and the after-commit hooks (once)."""
    global _installed
    if _installed:
        return
    _installed = True
    _install_session_hooks()
    task_assigned.connect(task_assigned_notify, weak=False)
