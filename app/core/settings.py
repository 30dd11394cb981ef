"""System settings: typed defaults in code, overrides in the `settings` table.

    setting_get("crm.reassign_threshold", 10)
    setting_set(key="crm.reassign_threshold", value=12, actor=admin)   # flushes

Values are JSON (numbers, strings, booleans, lists). Validation belongs to the form or
service that owns the setting; this module only stores. Every change of a value is audited
("settings.change", in the same transaction); a secret's value is never written there.
The audit is app.audit's: core knows no domain, so `setting_set` sends `setting_changed`
and app.audit connects its recorder to it when its blueprint is registered.
"""

from __future__ import annotations

from typing import Any

from blinker import Namespace
from flask import g, has_request_context

from app.core.clock import utcnow
from app.core.models import Setting
from app.extensions import db

# sender: the key; keywords actor, before, after (the values as the audit log may keep them).
setting_changed = Namespace().signal("setting-changed")

# A key naming one of these holds a secret: its audit row says that it changed, not to what.
SECRET_KEY_PARTS = ("secret", "password", "token", "key")
SECRET_SHOWN = "••••••"  # noqa: S105 - a mask, not a secret


_ABSENT = "racik_settings_absent"


def setting_get(key: str, default: Any = None) -> Any:
    """The stored value of `key`, or `default` when it was never set.

    A stored row is found in the session's identity map after its first read; a key that
    was never set would be a SELECT on every call (a checkout asks for the gateway, the
    expiry, the cashier limit, the Telegram token...), so its absence is remembered for the
    rest of the request."""
    absent = g.setdefault(_ABSENT, set()) if has_request_context() else None
    if absent is not None and key in absent:
        return default
    row = db.session.get(Setting, key)
    if row is None and absent is not None:
        absent.add(key)
    if row is None or row.value is None:
        return default
    return row.value


def setting_set(*, key: str, value: Any, actor: Any = None, default: Any = None) -> Setting:
    """Store `value` under `key` (create or replace), remembering who changed it (`actor`;
    None: the system). A changed value is audited ("settings.change"); `default` is the
    value in force while the key was never set, the audit row's "before" in that case."""
    if has_request_context():
        g.get(_ABSENT, set()).discard(key)
    row = db.session.get(Setting, key)
    if row is None:
        row = Setting(key=key)
        db.session.add(row)
    old = row.value if row.value is not None else default
    if old != value:
        setting_changed.send(key, actor=actor, before=_shown(key, old),
                             after=_shown(key, value))
    row.value = value
    row.updated_at = utcnow()
    row.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    return row


def _shown(key: str, value: Any) -> Any:
    """What the audit log may keep of a value: a secret only as "set" or empty."""
    name = key.rsplit(".", 1)[-1].lower()
    if any(part in name for part in SECRET_KEY_PARTS):
        return SECRET_SHOWN if value else ""
    return value
