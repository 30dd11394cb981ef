"""Login sessions: one `UserSession` row per login, its token in the signed cookie.

The cookie (session or remember-me) carries a random token; the database keeps its SHA-256.
Loading a request's user means finding a live row for that token, so revoking rows ends
sessions at once (password change, logout, "log out other sessions", later: deactivation).
Staff and admin sessions also end after `IDLE_TIMEOUT` without a request; every session
ends at its `expires_at` (the absolute lifetime) whatever happens.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app, request
from sqlalchemy import select, update

from app.accounts.models import User, UserSession
from app.core.clock import utcnow
from app.core.db import rowcount, transactions_may_write, write_connection
from app.extensions import db

TOUCH_EVERY = timedelta(minutes=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def session_open(*, user: User, remember: bool) -> UserSession:
    """Create a session row for a fresh login and attach it to `user` (for get_id). The
    login counts from here (`last_login_at`): after the second step for a 2FA account."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    user.last_login_at = now
    lifetime = (
        current_app.config["REMEMBER_COOKIE_DURATION"]
        if remember
        else current_app.config["SESSION_LIFETIME"]
    )
    row = UserSession(
        user_id=user.id,
        token_hash=_digest(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        remember=remember,
        ip_address=(request.remote_addr or "")[:45],
        user_agent=(request.user_agent.string or "")[:300],
    )
    db.session.add(row)
    db.session.flush()
    row.raw_token = token
    user.current_session = row
    return row


def session_load(token: str) -> User | None:
    """The active user of a live session with this token, or None."""
    if not token or len(token) > 100:
        return None
    now = utcnow()
    row = db.session.execute(
        select(UserSession).where(
            UserSession.token_hash == _digest(token),
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
        )
    ).scalar_one_or_none()
    if row is None or not row.user.active:
        return None
    if session_idle_expired(row, now):
        # Staff and admin sessions end after a quiet spell (shop-floor tablets are shared).
        _session_write(row, revoked_at=now)
        return None
    row.raw_token = token
    if now - row.last_seen_at > TOUCH_EVERY:
        _session_write(row, last_seen_at=now)
    user = row.user
    user.current_session = row
    return user


IDLE_ROLES = ("staff", "admin")


def session_idle_expired(row: UserSession, now) -> bool:
    """True when a staff/admin session has been unused longer than IDLE_TIMEOUT."""
    limit = current_app.config["IDLE_TIMEOUT"]
    return (bool(limit) and row.user.has_any_role(*IDLE_ROLES)
            and now - row.last_seen_at > limit)


def _session_write(row: UserSession, **values) -> None:
    """Bookkeeping on the session row (last seen, idle revocation)."""
    if transactions_may_write():
        # This request's own transaction writes anyway (and on SQLite holds the write
        # lock): record it there; it is committed with the request.
        for name, value in values.items():
            setattr(row, name, value)
    else:
        # A read-only request: bookkeeping in its own short transaction.
        with write_connection() as connection:
            connection.execute(update(UserSession).where(UserSession.id == row.id)
                               .values(**values))


def sessions_active(user_id: int) -> list[UserSession]:
    """The user's live sessions, the most recently used first."""
    now = utcnow()
    rows = db.session.scalars(select(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None),
        UserSession.expires_at > now)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())).all()
    return [row for row in rows if not session_idle_expired(row, now)]


def session_revoke(*, user_session: UserSession) -> None:
    user_session.revoked_at = utcnow()
    db.session.flush()


def sessions_revoke_others(*, user: User, keep: UserSession | None,
                           keep_api_family: int | None = None) -> int:
    """Revoke every live session of `user` except `keep`, and every API login (token
    family) except `keep_api_family`. Returns how many web sessions were ended."""
    from app.accounts.api_tokens import families_revoke

    families_revoke(user_id=user.id, reason="sessions", keep=keep_api_family)
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if keep is not None:
        stmt = stmt.where(UserSession.id != keep.id)
    return rowcount(db.session.execute(stmt))
