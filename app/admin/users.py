"""User management for admins: the users list, roles, deactivation, reset links, sessions.

Reads (`users_page`, `live_session_counts`) and writes (`user_roles_set`, `user_deactivate`,
`user_activate`, `user_reset_link_send`, `user_session_end`). Writes flush, never commit,
and add their audit row to the caller's transaction.

The last active admin: every write that can take the admin role away from an active user
(revoking it, deactivating an admin) first takes one lock, the `admin` row of `roles`
(`FOR NO KEY UPDATE` on PostgreSQL; SQLite's `BEGIN IMMEDIATE` already serialises writers),
and only then reads the user's roles and counts the other active admins in a fresh
statement. Two admins removing each other at the same moment therefore run one after the
other, and the second one sees that only one admin is left.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from limits import parse as parse_limit
from sqlalchemy import ColumnElement, func, select, update

from app.accounts.models import PasswordResetToken, Role, RoleName, User, UserSession
from app.accounts.password_reset import reset_request
from app.accounts.services import role_get
from app.accounts.sessions import session_idle_expired, sessions_revoke_others
from app.audit.services import audit_record
from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.pagination import Page
from app.extensions import db

log = logging.getLogger(__name__)

USERS_PER_PAGE = 50
STATUS_ACTIVE = "aktif"
STATUS_INACTIVE = "nonaktif"
STATUSES = (STATUS_ACTIVE, STATUS_INACTIVE)
# A second click on "send reset link" within this spell sends nothing more.
RESET_RESEND_AFTER = timedelta(minutes=1)


class UserAdminError(Exception):
    """An admin action refused: `status` 409 (a rule), 422 (bad input) or 429 (too many);
    `field` names the form field to blame, if any."""

    def __init__(self, message: object, status: int = 409, field: str | None = None):
        super().__init__(str(message))
        self.message = str(message)
        self.status = status
        self.field = field


# --- reads ---------------------------------------------------------------------------------


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def users_page(*, query: str = "", role: str = "", status: str = "",
               page: int = 1) -> Page[User]:
    """Users, newest first, whose name or email contains `query` (any case), holding `role`
    and active/inactive per `status` ("" for any)."""
    conditions: list[ColumnElement[bool]] = []
    query = query.strip()
    if query:
        pattern = _like_pattern(query.lower())
        conditions.append(func.lower(User.name).like(pattern, escape="\\")
                          | func.lower(User.email).like(pattern, escape="\\"))
    if role in RoleName.ALL:
        conditions.append(User.roles.any(Role.name == role))
    if status == STATUS_ACTIVE:
        conditions.append(User.active.is_(True))
    elif status == STATUS_INACTIVE:
        conditions.append(User.active.is_(False))
    total = db.session.scalar(select(func.count(User.id)).where(*conditions)) or 0
    pages = max(1, -(-total // USERS_PER_PAGE))
    page = min(max(1, page), pages)
    users = list(db.session.scalars(
        select(User).where(*conditions)
        .order_by(User.created_at.desc(), User.id.desc())
        .limit(USERS_PER_PAGE).offset((page - 1) * USERS_PER_PAGE)))
    return Page(items=users, total=total, page=page, per_page=USERS_PER_PAGE)


def live_session_counts(users: list[User]) -> dict[int, int]:
    """How many live sessions each of `users` has (not revoked, not expired, and for
    staff/admin not idle past the timeout), in one query."""
    if not users:
        return {}
    now = utcnow()
    rows = db.session.scalars(select(UserSession).where(
        UserSession.user_id.in_([user.id for user in users]),
        UserSession.revoked_at.is_(None), UserSession.expires_at > now))
    counts = dict.fromkeys((user.id for user in users), 0)
    for row in rows:
        if not session_idle_expired(row, now):
            counts[row.user_id] += 1
    return counts


def _other_active_admins(user_id: int) -> int:
    return db.session.scalar(select(func.count(User.id)).where(
        User.id != user_id, User.active.is_(True),
        User.roles.any(Role.name == RoleName.ADMIN))) or 0


# --- writes --------------------------------------------------------------------------------


def _lock_admins() -> None:
    """Serialise every change that can take the admin role away from an active user (see
    the module docstring). Taken before the user's state is read."""
    admin_role = role_get(RoleName.ADMIN)
    db.session.execute(select(Role.id).where(Role.id == admin_role.id)
                       .with_for_update(key_share=True))


def _fresh(user: User) -> User:
    """Forget what this transaction read of `user` before the lock: the next access reads
    the committed state (a new statement, so a new snapshot on PostgreSQL)."""
    db.session.expire(user)
    return user


def _refuse_losing_last_admin(*, user: User, actor: User) -> None:
    if user.id == actor.id:
        raise UserAdminError(_l("Anda tidak dapat mencabut peran admin dari akun Anda "
                                "sendiri. Minta admin lain melakukannya."))
    if user.active and _other_active_admins(user.id) == 0:
        raise UserAdminError(_l("%(name)s adalah admin aktif terakhir; peran admin tidak "
                                "dapat dicabut. Jadikan pengguna lain admin terlebih dahulu.",
                                name=user.name))


def user_roles_set(*, user: User, roles: list[str], actor: User,
                   seen: list[str] | None = None) -> tuple[list[str], list[str]] | None:
    """Give `user` exactly `roles`. Returns (before, after) sorted role lists, or None when
    the user already has exactly these roles (a second click changes nothing).

    `seen`: the roles the form showed; when someone else changed them meanwhile, the change
    is refused (409) rather than silently overwriting theirs. Raises UserAdminError: 422 for
    an unknown role or none at all; 409 when an admin would remove their own admin role or
    the last active admin would lose it."""
    wanted = set(roles)
    if not wanted:
        raise UserAdminError(_l("Pilih minimal satu peran."), status=422, field="roles")
    if not wanted <= set(RoleName.ALL):
        raise UserAdminError(_l("Peran tidak dikenal."), status=422, field="roles")
    _lock_admins()
    current = _fresh(user).role_names
    if current == wanted:
        return None
    if seen is not None and set(seen) != current:
        raise UserAdminError(_l("Peran pengguna ini baru saja diubah oleh orang lain. "
                                "Periksa peran terbarunya lalu simpan lagi."))
    if RoleName.ADMIN in current and RoleName.ADMIN not in wanted:
        _refuse_losing_last_admin(user=user, actor=actor)
    before, after = sorted(current), sorted(wanted)
    user.roles = [role for role in user.roles if role.name in wanted] + [
        role_get(name) for name in sorted(wanted - current)]
    db.session.flush()
    audit_record("user.roles", actor=actor, object_type="user", object_id=user.id,
                 before={"roles": before}, after={"roles": after})
    log.info("admin %s set the roles of user %s: %s -> %s", actor.id, user.id, before, after)
    return before, after


def user_deactivate(*, user: User, actor: User) -> int | None:
    """Deactivate `user` and end every session of theirs at once. Returns how many sessions
    were ended, or None when the user was already inactive. Raises UserAdminError (409) for
    the actor's own account and for the last active admin."""
    if user.id == actor.id:
        raise UserAdminError(_l("Anda tidak dapat menonaktifkan akun Anda sendiri."))
    _lock_admins()
    if _fresh(user).has_role(RoleName.ADMIN) and user.active \
            and _other_active_admins(user.id) == 0:
        raise UserAdminError(_l("%(name)s adalah admin aktif terakhir dan tidak dapat "
                                "dinonaktifkan.", name=user.name))
    changed = rowcount(db.session.execute(
        update(User).where(User.id == user.id, User.active.is_(True)).values(active=False)
        .execution_options(synchronize_session=False)))
    if not changed:
        return None
    ended = sessions_revoke_others(user=user, keep=None)
    db.session.expire(user, ["active"])
    audit_record("user.deactivate", actor=actor, object_type="user", object_id=user.id,
                 before={"active": True}, after={"active": False, "sessions_ended": ended})
    log.info("admin %s deactivated user %s; %s session(s) ended", actor.id, user.id, ended)
    return ended


def user_activate(*, user: User, actor: User) -> bool:
    """Let `user` log in again (their old sessions stay ended). False: already active."""
    changed = rowcount(db.session.execute(
        update(User).where(User.id == user.id, User.active.is_(False)).values(active=True)
        .execution_options(synchronize_session=False)))
    if not changed:
        return False
    db.session.expire(user, ["active"])
    audit_record("user.activate", actor=actor, object_type="user", object_id=user.id,
                 before={"active": False}, after={"active": True})
    log.info("admin %s activated user %s", actor.id, user.id)
    return True


def user_reset_link_send(*, user: User, actor: User) -> bool:
    """Send `user` the usual single-use reset link (the "forgot password" flow). Returns
    False when a link went out less than a minute ago (a double click sends one email).
    Raises UserAdminError: 409 for an inactive user (the link would not work), 429 when the
    flow's per-address limit (RESET_LIMIT_PER_EMAIL) is reached."""
    # Lock the user's row so two clicks count the links one after the other.
    db.session.execute(select(User.id).where(User.id == user.id).with_for_update())
    if not _fresh(user).active:
        raise UserAdminError(_l("Pengguna ini nonaktif; aktifkan dulu sebelum mengirim "
                                "tautan atur ulang kata sandi."))
    now = utcnow()
    limit = parse_limit(current_app.config["RESET_LIMIT_PER_EMAIL"])
    window = timedelta(seconds=limit.get_expiry())
    recent = list(db.session.scalars(select(PasswordResetToken.created_at).where(
        PasswordResetToken.user_id == user.id,
        PasswordResetToken.created_at > now - max(window, RESET_RESEND_AFTER))))
    if any(created > now - RESET_RESEND_AFTER for created in recent):
        return False
    if sum(1 for created in recent if created > now - window) >= limit.amount:
        raise UserAdminError(_l("Sudah %(count)s tautan atur ulang dikirim ke pengguna ini "
                                "dalam waktu dekat. Coba lagi nanti.", count=limit.amount),
                             status=429)
    reset_request(email=user.email)
    audit_record("user.reset_link", actor=actor, object_type="user", object_id=user.id)
    log.info("admin %s sent user %s a password reset link", actor.id, user.id)
    return True


def user_session_end(*, user_session: UserSession, actor: User) -> bool:
    """End one session of a user. False: it had ended already (a second click)."""
    ended = rowcount(db.session.execute(
        update(UserSession).where(UserSession.id == user_session.id,
                                  UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow()).execution_options(synchronize_session=False)))
    if not ended:
        return False
    db.session.expire(user_session, ["revoked_at"])
    audit_record("user.session_end", actor=actor, object_type="user",
                 object_id=user_session.user_id,
                 after={"session_id": user_session.id, "device": user_session.device,
                        "ip_address": user_session.ip_address})
    log.info("admin %s ended session %s of user %s", actor.id, user_session.id,
             user_session.user_id)
    return True
