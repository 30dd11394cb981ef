"""API tokens: a short-lived access token (JWT) and a long-lived refresh token per login.

    login      token_pair_issue(user)          a new family, its first refresh token
    request    access_token_user(raw)          the user, if the token is good and its family
                                               is alive and the user active (one query)
    refresh    refresh_rotate(raw)             spends the refresh token, issues the next one
                                               in the same family; a spent token used again
                                               revokes the whole family (theft detection)
    logout     family_revoke(family_id, ...)
    password change, reset, deactivation, "log out everywhere": `families_revoke`, called
    by `sessions.sessions_revoke_others` so the web and the API end together.

Access tokens are HS256 JWTs signed with API_JWT_KEY (by default derived from SECRET_KEY)
and carry the user id (`sub`) and the family id (`fam`). Refresh tokens are random; only
their SHA-256 is stored, like the web sessions' tokens.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import jwt
from flask import current_app, request
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from app.accounts.models import ApiRefreshToken, ApiTokenFamily, User
from app.core.clock import utcnow
from app.core.db import rowcount
from app.extensions import db

log = logging.getLogger(__name__)

ISSUER = "racik"
AUDIENCE = "racik-api"
ALGORITHM = "HS256"


class TokenErrorCode(StrEnum):
    """Why a token is not accepted: the stable error code of the API's 401."""

    # (Error codes, not secrets: S105.) Unknown, malformed or badly signed:
    TOKEN_INVALID = "token_invalid"  # noqa: S105
    TOKEN_EXPIRED = "token_expired"  # noqa: S105
    # Its login ended, or the user was deactivated:
    TOKEN_REVOKED = "token_revoked"  # noqa: S105
    # A refresh token used twice: the whole login is revoked.
    TOKEN_REUSED = "token_reused"  # noqa: S105


class TokenError(Exception):
    """A token the API does not accept. `code` is the stable error code of the answer."""

    def __init__(self, code: TokenErrorCode):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives
    refresh_expires_at: datetime
    family_id: int


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _signing_key() -> str:
    configured = current_app.config.get("API_JWT_KEY")
    if configured:
        return configured
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"racik-api-jwt-v1", hashlib.sha256).hexdigest()


def access_token_encode(*, user_id: int, family_id: int) -> str:
    now = utcnow()
    claims = {
        "iss": ISSUER, "aud": AUDIENCE, "typ": "access",
        "sub": str(user_id), "fam": family_id,
        "iat": now, "exp": now + current_app.config["API_ACCESS_TTL"],
        "jti": secrets.token_urlsafe(8),
    }
    return jwt.encode(claims, _signing_key(), algorithm=ALGORITHM)


def access_token_claims(raw: str) -> dict:
    """The checked claims of an access token. Raises TokenError (TOKEN_EXPIRED or
    TOKEN_INVALID)."""
    if not raw or len(raw) > 2000:
        raise TokenError(TokenErrorCode.TOKEN_INVALID)
    try:
        claims = jwt.decode(raw, _signing_key(), algorithms=[ALGORITHM], audience=AUDIENCE,
                            issuer=ISSUER, options={"require": ["exp", "iat", "sub", "fam"]})
    except jwt.ExpiredSignatureError as error:
        raise TokenError(TokenErrorCode.TOKEN_EXPIRED) from error
    except jwt.PyJWTError as error:
        raise TokenError(TokenErrorCode.TOKEN_INVALID) from error
    if claims.get("typ") != "access" or not str(claims["sub"]).isdigit() \
            or not isinstance(claims["fam"], int):
        raise TokenError(TokenErrorCode.TOKEN_INVALID)
    return claims


def access_token_user(raw: str) -> tuple[User, int]:
    """The active user an access token names, and its family id. Raises TokenError when the
    token is bad or expired, its family revoked, or the user deactivated."""
    claims = access_token_claims(raw)
    # One query: the user, its live family and its roles (every view checks them).
    user = db.session.execute(
        select(User).join(ApiTokenFamily, ApiTokenFamily.user_id == User.id).where(
            User.id == int(claims["sub"]), ApiTokenFamily.id == claims["fam"],
            ApiTokenFamily.revoked_at.is_(None), User.active.is_(True))
        .options(joinedload(User.roles))
    ).unique().scalar_one_or_none()
    if user is None:
        raise TokenError(TokenErrorCode.TOKEN_REVOKED)
    return user, claims["fam"]


def _refresh_new(family: ApiTokenFamily) -> tuple[str, ApiRefreshToken]:
    raw = secrets.token_urlsafe(32)
    row = ApiRefreshToken(family_id=family.id, token_hash=_digest(raw), created_at=utcnow(),
                          expires_at=utcnow() + current_app.config["API_REFRESH_TTL"])
    db.session.add(row)
    db.session.flush()
    return raw, row


def _pair(family: ApiTokenFamily) -> TokenPair:
    raw, row = _refresh_new(family)
    return TokenPair(
        access_token=access_token_encode(user_id=family.user_id, family_id=family.id),
        refresh_token=raw,
        expires_in=int(current_app.config["API_ACCESS_TTL"].total_seconds()),
        refresh_expires_at=row.expires_at, family_id=family.id)


def token_pair_issue(*, user: User) -> TokenPair:
    """A new login from the API: a new family and its first token pair."""
    now = utcnow()
    family = ApiTokenFamily(
        user_id=user.id, created_at=now, last_used_at=now,
        ip_address=(request.remote_addr or "")[:45] if request else "",
        user_agent=(request.user_agent.string or "")[:300] if request else "")
    db.session.add(family)
    user.last_login_at = now
    db.session.flush()
    return _pair(family)


def refresh_rotate(raw: str) -> tuple[User, TokenPair]:
    """Spend a refresh token and issue the next pair of its family.

    Raises TokenError: "token_invalid" (unknown), "token_expired", "token_revoked" (family
    ended or user deactivated) or "token_reused" (already spent: the family is revoked now,
    and the caller must commit that)."""
    if not raw or len(raw) > 200:
        raise TokenError(TokenErrorCode.TOKEN_INVALID)
    row = db.session.execute(
        select(ApiRefreshToken).where(ApiRefreshToken.token_hash == _digest(raw))
    ).scalar_one_or_none()
    if row is None:
        raise TokenError(TokenErrorCode.TOKEN_INVALID)
    family = row.family
    if family.revoked_at is not None or not family.user.active:
        raise TokenError(TokenErrorCode.TOKEN_REVOKED)
    now = utcnow()
    # Spend it with a conditional UPDATE: of two requests racing with one token, one wins
    # and the other is a reuse (and ends the family, as a thief's would).
    spent = rowcount(db.session.execute(
        update(ApiRefreshToken).where(ApiRefreshToken.id == row.id,
                                      ApiRefreshToken.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)))
    if not spent:
        family_revoke(family_id=family.id, reason="reuse")
        log.warning("refresh token of family %s used twice: family revoked (user %s)",
                    family.id, family.user_id)
        from app.audit.services import audit_record

        audit_record("auth.api_token_reuse", actor=family.user, object_type="user",
                     object_id=family.user_id, after={"family": family.id})
        raise TokenError(TokenErrorCode.TOKEN_REUSED)
    if row.expires_at <= now:
        raise TokenError(TokenErrorCode.TOKEN_EXPIRED)
    family.last_used_at = now
    return family.user, _pair(family)


def family_revoke(*, family_id: int, reason: str) -> bool:
    """End one API login (its refresh tokens and, at their next request, its access
    tokens). False when it had already ended."""
    return bool(rowcount(db.session.execute(
        update(ApiTokenFamily).where(ApiTokenFamily.id == family_id,
                                     ApiTokenFamily.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
        .execution_options(synchronize_session=False))))


def families_revoke(*, user_id: int, reason: str, keep: int | None = None) -> int:
    """End every API login of a user (but `keep`, a family id). Returns how many ended."""
    stmt = (update(ApiTokenFamily)
            .where(ApiTokenFamily.user_id == user_id, ApiTokenFamily.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason)
            .execution_options(synchronize_session=False))
    if keep is not None:
        stmt = stmt.where(ApiTokenFamily.id != keep)
    return rowcount(db.session.execute(stmt))


def families_sweep(*, now: datetime | None = None) -> int:
    """Delete API logins nobody can use any more: revoked over 30 days ago (kept that long
    for the audit trail's sake), or whose last refresh token has expired. Their refresh
    tokens go with them (ON DELETE CASCADE). Returns how many were removed."""
    from datetime import timedelta

    from sqlalchemy import delete, or_

    now = now or utcnow()
    dead = or_(ApiTokenFamily.revoked_at < now - timedelta(days=30),
               ApiTokenFamily.last_used_at < now - current_app.config["API_REFRESH_TTL"])
    doomed = select(ApiTokenFamily.id).where(dead)
    db.session.execute(delete(ApiRefreshToken).where(ApiRefreshToken.family_id.in_(doomed)))
    return rowcount(db.session.execute(delete(ApiTokenFamily).where(dead)))
