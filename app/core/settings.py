"""System settings: typed defaults in code, overrides in the `settings` table.

    setting_get("crm.reassign_threshold", 10)
    setting_set(key="crm.reassign_threshold", value=12, actor=admin)   # flushes

Values are JSON (numbers, strings, booleans, lists). Validation belongs to the form or
service that owns the setting; this module only stores.
"""

from __future__ import annotations

from typing import Any

from app.core.clock import utcnow
from app.core.models import Setting
from app.extensions import db


def setting_get(key: str, default: Any = None) -> Any:
    """The stored value of `key`, or `default` when it was never set."""
    row = db.session.get(Setting, key)
    if row is None or row.value is None:
        return default
    return row.value


def setting_set(*, key: str, value: Any, actor: Any = None) -> Setting:
    """Store `value` under `key` (create or replace), remembering who changed it."""
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    row.value = value
    row.updated_at = utcnow()
    row.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    return row
