"""CRM events other parts subscribe to (emails, Telegram): sent by app/crm/services.py."""

from blinker import Namespace

_signals = Namespace()

#: A task got an assignee (created for them, reassigned to them by hand or by the >10
#: open-tasks rule). Sent with the task as sender and ``previous_assignee_id`` and ``reason``
#: (str | None) keyword arguments, after the commit.
task_assigned = _signals.signal("task-assigned")
