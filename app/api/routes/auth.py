"""Authentication: login, refresh (rotation), logout, the user's own profile and password.

    POST /auth/login       email + password (+ totp_code) -> access + refresh token
    POST /auth/refresh     a refresh token -> the next pair (the old one is spent)
    POST /auth/logout      ends this login (its refresh and access tokens)
    GET  /me               who the token belongs to
    POST /me/password      change the password: ends every other web session and API login
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated

from flask import current_app, request
from flask_login import current_user
from pydantic import Field

from app.accounts.api_tokens import (
    TokenError,
    TokenPair,
    family_revoke,
    refresh_rotate,
    token_pair_issue,
)
from app.accounts.login_limits import login_account_key, login_ip_key
from app.accounts.models import Company
from app.accounts.services import AccountError, normalize_email, password_change, user_authenticate
from app.accounts.totp import second_factor_check, totp_enabled, totp_required
from app.api import bp
from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.schemas import CompanyRef, Input, Output, StoreRef, trimmed
from app.api.spec import AUTH_PUBLIC, operation
from app.audit.services import audit_record, audit_record_now
from app.extensions import db, limiter

log = logging.getLogger(__name__)
TAG = "Autentikasi"


class LoginIn(Input):
    email: Annotated[str, trimmed(320, 1)]
    password: str = Field(min_length=1, max_length=1000, pattern=r"^[^\x00]*$")
    totp_code: Annotated[str, trimmed(40)] | None = Field(
        None, description="The 6-digit code (or a recovery code) when 2FA is on.")


class RefreshIn(Input):
    refresh_token: Annotated[str, trimmed(200, 1)]


class PasswordIn(Input):
    current_password: str = Field(min_length=1, max_length=1000, pattern=r"^[^\x00]*$")
    new_password: str = Field(min_length=1, max_length=1000, pattern=r"^[^\x00]*$")


class TokenOut(Output):
    """An access token (Bearer, 15 minutes) and the refresh token to get the next one."""

    access_token: str
    token_type: str = "Bearer"  # noqa: S105 - the scheme
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str
    refresh_expires_at: datetime


class MeOut(Output):
    """The logged-in user."""

    id: int
    email: str
    name: str
    phone: str
    locale: str
    roles: list[str]
    totp_enabled: bool
    store: StoreRef | None
    company: CompanyRef | None


def _tokens(pair: TokenPair) -> TokenOut:
    return TokenOut(access_token=pair.access_token, expires_in=pair.expires_in,
                    refresh_token=pair.refresh_token, refresh_expires_at=pair.refresh_expires_at)


def _login_account_key() -> str:
    data = request.get_json(silent=True)
    email = data.get("email") if isinstance(data, dict) else None
    return login_account_key(email if isinstance(email, str) else "")


def _failed(response) -> bool:
    return response.status_code == 401


@operation(bp, "/auth/login", "POST", tag=TAG, summary="Log in: get an access and a "
           "refresh token", body=LoginIn, response=TokenOut, auth=AUTH_PUBLIC, errors=(403,))
# Shared limits: the web login and the API login count together per account and IP.
@limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
                      key_func=_login_account_key, deduct_when=_failed, scope="login-account")
@limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
                      key_func=login_ip_key, deduct_when=_failed, scope="login-ip")
def login(body: LoginIn):
    """Wrong credentials, a missing or wrong 2FA code: 401 (`invalid_credentials`,
    `totp_required`, `totp_invalid`); counted against the same limits as the web login.
    A role that must use 2FA without it switched on: 403 `totp_setup_required`."""
    user = user_authenticate(email=body.email, password=body.password)
    if user is None:
        db.session.commit()  # ends the transaction (and SQLite's write lock) first
        audit_record_now("auth.login_failed", actor=None, note=normalize_email(body.email))
        log.info("api login failed")
        raise ApiError(401, ApiErrorCode.INVALID_CREDENTIALS, fields={"password": ""})
    method: str | None = "password"
    if totp_enabled(user):
        if not body.totp_code:
            db.session.commit()
            raise ApiError(401, ApiErrorCode.TOTP_REQUIRED, fields={"totp_code": ""})
        method = second_factor_check(user, body.totp_code)
        if method is None:
            db.session.commit()
            log.info("api login of user %s: wrong second factor", user.id)
            raise ApiError(401, ApiErrorCode.TOTP_INVALID, fields={"totp_code": ""})
    elif totp_required(user):
        raise ApiError(403, ApiErrorCode.TOTP_SETUP_REQUIRED)
    pair = token_pair_issue(user=user)
    audit_record("auth.login", actor=user, object_type="user", object_id=user.id,
                 after={"via": "api", "method": method, "family": pair.family_id})
    db.session.commit()
    log.info("api login ok for user %s (family %s)", user.id, pair.family_id)
    return _tokens(pair)


@operation(bp, "/auth/refresh", "POST", tag=TAG, summary="Exchange a refresh token for the "
           "next pair", body=RefreshIn, response=TokenOut, auth=AUTH_PUBLIC)
def refresh(body: RefreshIn):
    """Each refresh token works once. Using a spent one again revokes every token of that
    login (`token_reused`): whoever holds the newer one must log in again too."""
    try:
        user, pair = refresh_rotate(body.refresh_token)
    except TokenError as error:
        db.session.commit()  # keeps the family's revocation after a reuse
        raise ApiError(401, error.code, fields={"refresh_token": ""}) from None
    db.session.commit()
    log.info("api tokens refreshed for user %s (family %s)", user.id, pair.family_id)
    return _tokens(pair)


@operation(bp, "/auth/logout", "POST", tag=TAG, summary="Log out: revoke this login's tokens",
           response=None, status=204)
def logout():
    family_revoke(family_id=current_user.api_family_id, reason="logout")
    audit_record("auth.logout", object_type="user", object_id=current_user.id,
                 after={"via": "api", "family": current_user.api_family_id})
    db.session.commit()
    return None


def me_out(user) -> MeOut:
    store = user.store
    company = db.session.get(Company, user.company_id) if user.company_id else None
    return MeOut(id=user.id, email=user.email, name=user.name, phone=user.phone or "",
                 locale=user.locale, roles=sorted(user.role_names),
                 totp_enabled=totp_enabled(user),
                 store=StoreRef(id=store.id, name=store.name, slug=store.slug) if store else None,
                 company=CompanyRef(id=company.id, name=company.name) if company else None)


@operation(bp, "/me", "GET", tag=TAG, summary="The logged-in user", response=MeOut)
def me():
    return me_out(current_user)


@operation(bp, "/me/password", "POST", tag=TAG, summary="Change the password",
           body=PasswordIn, response=None, status=204)
def me_password(body: PasswordIn):
    """Ends every web session and every other API login of the user; this login stays."""
    try:
        password_change(user=current_user, current_password=body.current_password,
                        new_password=body.new_password)
    except AccountError as error:
        raise ApiError(422, ApiErrorCode.VALIDATION_FAILED, error.message,
                       fields={error.field or "new_password": error.message}) from None
    db.session.commit()
    return None
