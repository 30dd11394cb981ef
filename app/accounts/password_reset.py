"""'Lupa kata sandi': a single-use link, valid for an hour, sent by email.

- `reset_request(email)` answers the same way for every address: a known account gets a
  token and an email; an unknown one costs the same work (the email is rendered, then
  dropped), so neither the answer nor its timing tells whether the account exists.
- Only the token's SHA-256 is stored; the link carries the token itself.
- `reset_complete` takes the token with a conditional UPDATE (`used_at IS NULL`), so two
  tabs using one link change the password once. It also spends the user's other unused
  links, ends every session of the account, and sends the "password changed" email.
Services flush, never commit.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from flask import render_template, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.accounts.models import PasswordResetToken, User
from app.accounts.passwords import password_hash, password_problems
from app.accounts.services import AccountError, user_by_email
from app.accounts.sessions import sessions_revoke_others
from app.audit.services import audit_record
from app.core.clock import utcnow
from app.core.db import rowcount
from app.core.http import public_url
from app.core.mail import mail_queue
from app.extensions import db

log = logging.getLogger(__name__)

TOKEN_LIFETIME = timedelta(hours=1)
SUBJECT = _l("Atur ulang kata sandi Racik Anda")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def reset_request(*, email: str) -> None:
    """Send a reset link if `email` belongs to an active account; otherwise do the same
    work and send nothing. Never tells which happened."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    context = {"link": public_url("accounts.reset_password", token=token),
               "expires_at": now + TOKEN_LIFETIME}
    user = user_by_email(email)
    if user is None or not user.active:
        # The same rendering a real email costs, thrown away.
        with force_locale("id"):
            render_template("email/password_reset.html", user_name="", **context)
            render_template("email/password_reset.txt", user_name="", **context)
        log.info("password reset asked for an unknown or inactive address")
        return
    db.session.add(PasswordResetToken(
        user_id=user.id, token_hash=_digest(token), created_at=now,
        expires_at=now + TOKEN_LIFETIME, ip_address=(request.remote_addr or "")[:45]))
    mail_queue(to=user.email, template="password_reset", subject=SUBJECT,
               locale=user.locale, user_name=user.name, **context)
    db.session.flush()
    log.info("password reset link sent to user %s", user.id)


def reset_token_valid(token: str) -> PasswordResetToken | None:
    """The unused, unexpired token row for `token` (of an active user), else None."""
    if not token or len(token) > 100:
        return None
    row = db.session.scalars(select(PasswordResetToken).where(
        PasswordResetToken.token_hash == _digest(token),
        PasswordResetToken.used_at.is_(None),
        PasswordResetToken.expires_at > utcnow())).first()
    if row is None or not row.user.active:
        return None
    return row


class ResetLinkInvalid(Exception):
    """The link was used, expired, or never existed."""


def reset_complete(*, row: PasswordResetToken, new_password: str) -> User:
    """Set a new password through a reset link (`row` from `reset_token_valid`). Raises
    ResetLinkInvalid (another request used the link meanwhile: 410) or AccountError (the
    password is refused: 422, field `new_password`)."""
    user = row.user
    problems = password_problems(new_password, email=user.email)
    if problems:
        raise AccountError(problems[0], field="new_password")
    now = utcnow()
    taken = rowcount(db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.id == row.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)))
    if not taken:  # another tab used the link a moment ago
        raise ResetLinkInvalid()
    db.session.execute(
        update(PasswordResetToken)
        .where(PasswordResetToken.user_id == user.id, PasswordResetToken.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False))
    user.password_hash = password_hash(new_password)
    ended = sessions_revoke_others(user=user, keep=None)
    audit_record("auth.password_reset", actor=user, object_type="user", object_id=user.id,
                 after={"sessions_ended": ended})
    mail_queue(to=user.email, template="password_changed", locale=user.locale,
               subject=_l("Kata sandi Racik Anda telah diubah"), user_name=user.name,
               changed_at=now)
    db.session.flush()
    log.info("user %s reset the password by email link; %s session(s) ended", user.id, ended)
    return user
