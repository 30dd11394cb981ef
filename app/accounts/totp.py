"""Two-factor login (TOTP, RFC 6238) and its recovery codes.

- The secret (`pyotp.random_base32()`) is stored encrypted in `User.totp_secret`:
  AES-256-GCM with a key derived from `SECRET_KEY` (HKDF-SHA256, info `racik-totp-v1`),
  written `v1:<base64(nonce + ciphertext)>` so the key can rotate later. It is shown to the
  user once, at enrolment, and never logged.
- A code has 6 digits and a 30 s step; the current step and one step either side are
  accepted. A code works once: `totp_verify` claims its step with a conditional UPDATE
  (`totp_last_step < :step`), so a replay, or two tabs sending the same code, succeed once.
- Ten recovery codes (`xxxx-xxxx`, unambiguous letters and digits), only their SHA-256
  stored, each spent once by a conditional UPDATE (`used_at IS NULL`).

Services flush, never commit. Failed codes are audited by the caller (`auth.totp_failed`
with `audit_record_now`, once its own transaction has ended).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.accounts.models import RecoveryCode, User
from app.audit.services import audit_record
from app.core.clock import utcnow
from app.core.db import rowcount
from app.extensions import db

log = logging.getLogger(__name__)

ISSUER = "Racik"
DIGITS = 6
STEP_SECONDS = 30
TOLERANCE_STEPS = 1  # the step before and the step after the current one are accepted
KEY_INFO = b"racik-totp-v1"
KEY_VERSION = "v1"
NONCE_BYTES = 12
RECOVERY_CODE_COUNT = 10
# No 0/o, 1/l/i: a code copied from paper must not be ambiguous.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_CODE = re.compile(r"^\d{6}$")
_RECOVERY = re.compile(r"^[a-z0-9]{4}-?[a-z0-9]{4}$")


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted (wrong SECRET_KEY, or damaged)."""


# --- the secret at rest ---------------------------------------------------------------------


def _cipher() -> AESGCM:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
               info=KEY_INFO).derive(current_app.config["SECRET_KEY"].encode())
    return AESGCM(key)


def secret_encrypt(secret: str) -> str:
    """`v1:<base64(nonce + ciphertext)>` of a base32 secret."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = _cipher().encrypt(nonce, secret.encode(), KEY_INFO)
    return f"{KEY_VERSION}:" + base64.b64encode(nonce + sealed).decode()


def secret_decrypt(stored: str) -> str:
    """The base32 secret of a `secret_encrypt` value. Raises SecretUnreadable."""
    version, _, payload = (stored or "").partition(":")
    if version != KEY_VERSION or not payload:
        raise SecretUnreadable("unknown secret format")
    try:
        raw = base64.b64decode(payload, validate=True)
        return _cipher().decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], KEY_INFO).decode()
    except (ValueError, InvalidTag) as error:
        raise SecretUnreadable("secret cannot be decrypted") from error


def totp_secret_new() -> str:
    return pyotp.random_base32()


def totp_uri(*, user: User, secret: str) -> str:
    """The `otpauth://` URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=user.email, issuer_name=ISSUER)


def totp_enabled(user: User) -> bool:
    return user.totp_enabled_at is not None


def totp_required(user: User) -> bool:
    """True when one of the user's roles must use two-factor login (TOTP_REQUIRED_ROLES)."""
    return user.has_any_role(*current_app.config.get("TOTP_REQUIRED_ROLES", ()))


# --- codes ----------------------------------------------------------------------------------


def normalize_code(code: str | None) -> str:
    """What the user typed, without spaces and dashes people add ("123 456"), lower-case."""
    return re.sub(r"[\s]", "", code or "").lower()


def is_totp_code(code: str) -> bool:
    return bool(_CODE.match(normalize_code(code)))


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step (current ±1) whose code is `code`, or None."""
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)
    current = int(now.timestamp()) // STEP_SECONDS
    for step in range(current - TOLERANCE_STEPS, current + TOLERANCE_STEPS + 1):
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            return step
    return None


def totp_verify(user: User, code: str, *, now: datetime | None = None) -> bool:
    """True when `code` is the user's code for the current step (±1) and that step was not
    used yet; the step is then claimed (a second use of the code is refused)."""
    code = normalize_code(code)
    if not totp_enabled(user) or not _CODE.match(code):
        return False
    try:
        secret = secret_decrypt(user.totp_secret)
    except SecretUnreadable:
        log.warning("two-factor secret of user %s cannot be decrypted", user.id)
        return False
    step = _matching_step(secret, code, _now(now))
    if step is None:
        return False
    claimed = rowcount(db.session.execute(
        update(User).where(User.id == user.id, User.totp_last_step < step)
        .values(totp_last_step=step).execution_options(synchronize_session=False)))
    if claimed != 1:
        log.info("two-factor code replayed for user %s", user.id)
        return False
    set_committed_value(user, "totp_last_step", step)  # what the row now says, no 2nd write
    return True


def totp_code_check(secret: str, code: str, *, now: datetime | None = None) -> int | None:
    """The step of `code` for a secret not enabled yet (the enrolment's confirmation)."""
    code = normalize_code(code)
    if not _CODE.match(code):
        return None
    return _matching_step(secret, code, _now(now))


# --- enable, disable --------------------------------------------------------------------------


def totp_enable(*, user: User, secret: str, code: str,
                now: datetime | None = None) -> list[str] | None:
    """Switch two-factor login on with `secret` once the user typed its current `code`.
    Returns the new recovery codes (show them once), or None when the code is wrong or
    2FA was switched on meanwhile (another tab)."""
    now = _now(now)
    step = totp_code_check(secret, code, now=now)
    if step is None:
        return None
    changed = rowcount(db.session.execute(
        update(User).where(User.id == user.id, User.totp_enabled_at.is_(None))
        .values(totp_secret=secret_encrypt(secret), totp_enabled_at=now,
                totp_last_step=step)  # the enrolment code cannot be used again to log in
        .execution_options(synchronize_session=False)))
    if changed != 1:
        return None
    db.session.refresh(user, ["totp_secret", "totp_enabled_at", "totp_last_step"])
    codes = _recovery_codes_replace(user)
    audit_record("auth.totp_enable", object_type="user", object_id=user.id)
    db.session.flush()
    log.info("user %s switched two-factor login on", user.id)
    return codes


def totp_disable(*, user: User) -> bool:
    """Switch two-factor login off (the secret and the recovery codes are deleted).
    False when it was not on. The caller refuses this for required roles."""
    changed = rowcount(db.session.execute(
        update(User).where(User.id == user.id, User.totp_enabled_at.is_not(None))
        .values(totp_secret="", totp_enabled_at=None)
        .execution_options(synchronize_session=False)))
    if changed != 1:
        return False
    db.session.refresh(user, ["totp_secret", "totp_enabled_at"])
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    audit_record("auth.totp_disable", object_type="user", object_id=user.id)
    db.session.flush()
    log.info("user %s switched two-factor login off", user.id)
    return True


# --- recovery codes -----------------------------------------------------------------------


def _recovery_digest(code: str) -> str:
    return hashlib.sha256(code.replace("-", "").encode()).hexdigest()


def _recovery_code_new() -> str:
    chars = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def _recovery_codes_replace(user: User) -> list[str]:
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_recovery_code_new() for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_digest(code))
                       for code in codes)
    db.session.flush()
    return codes


def recovery_codes_regenerate(*, user: User) -> list[str] | None:
    """Ten new recovery codes replacing all the old ones (shown once); None when two-factor
    login is off."""
    if not totp_enabled(user):
        return None
    codes = _recovery_codes_replace(user)
    audit_record("auth.recovery_codes_new", object_type="user", object_id=user.id)
    db.session.flush()
    log.info("user %s made new recovery codes", user.id)
    return codes


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0


def recovery_code_use(user: User, code: str) -> bool:
    """Spend one unused recovery code of `user`; False when it is unknown or used."""
    code = normalize_code(code)
    if not totp_enabled(user) or not _RECOVERY.match(code):
        return False
    spent = rowcount(db.session.execute(
        update(RecoveryCode).where(RecoveryCode.user_id == user.id,
                                   RecoveryCode.code_hash == _recovery_digest(code),
                                   RecoveryCode.used_at.is_(None))
        .values(used_at=utcnow()).execution_options(synchronize_session=False)))
    if spent != 1:
        return False
    audit_record("auth.recovery_code_used", actor=user, object_type="user", object_id=user.id)
    db.session.flush()
    log.info("user %s used a recovery code", user.id)
    return True


def second_factor_check(user: User, code: str, *, now: datetime | None = None) -> str | None:
    """Check a code typed at the second step: a 6-digit TOTP code or a recovery code.
    Returns "totp" or "recovery" when accepted (and spent), None otherwise."""
    if is_totp_code(code):
        return "totp" if totp_verify(user, code, now=now) else None
    return "recovery" if recovery_code_use(user, code) else None
