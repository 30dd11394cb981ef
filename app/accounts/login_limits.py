"""The rate-limit keys of logins, shared by the web login (app.accounts.routes) and the API
login (app.api.routes.auth): both count against the same limits (scopes "login-account"
and "login-ip")."""

from __future__ import annotations

from flask_limiter.util import get_remote_address

from app.accounts.services import normalize_email


def login_account_key(email: str) -> str:
    """The limit key of logins to one account: the same for the web and the API login,
    which share their limits (scope "login-account")."""
    return "login-account:" + normalize_email(email)[:320]


def login_ip_key() -> str:
    """The limit key of logins from one address (scope "login-ip"), web and API."""
    return "login-ip:" + (get_remote_address() or "")
