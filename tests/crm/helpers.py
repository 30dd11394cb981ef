"""Shared arrangements for the CRM tests."""

from __future__ import annotations

from datetime import timedelta

from app.accounts.models import User
from app.core.clock import utcnow
from app.crm.models import Task, TaskStatus
from app.extensions import db
from tests.factories import make_user


def make_staff(position: str | None = "sales", *, name: str | None = None,
               active: bool = True, roles: tuple[str, ...] = ("staff",)) -> User:
    user = make_user(roles=roles, name=name)
    user.position = position
    user.active = active
    db.session.flush()
    return user


def give_tasks(user: User, count: int, *, status: str = TaskStatus.OPEN,
               days_ago: float = 40) -> list[Task]:
    """`count` tasks assigned to `user` `days_ago` days ago (outside the 30-day window by
    default, so they count as active load but not as recent assignments)."""
    when = utcnow() - timedelta(days=days_ago)
    tasks = [Task(title=f"Tugas {n}", assignee_id=user.id, status=status, assigned_at=when)
             for n in range(count)]
    db.session.add_all(tasks)
    db.session.flush()
    return tasks
