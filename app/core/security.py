"""Access control and HTTP hardening shared by every blueprint.

- `role_required(*roles)`: anonymous users go to the login page (and come back), logged-in
  users without any of the roles get 403.
- `owned_or_404(stmt)`: ownership is part of the query; another owner's object is a 404.
- `safe_next_url(...)`: only same-site relative paths are followed after login.
- security headers (CSP without inline script, nosniff, frame-ancestors none...).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, abort, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import Select

from app.extensions import db, login_manager

F = TypeVar("F", bound=Callable[..., Any])

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Headers that govern a document (what it may load, run, frame, send as referrer). A raster
# image (with nosniff) is never a document: nginx does not compress headers across
# responses (no HPACK dynamic table), so on a page with ten product photos these ~450 bytes
# a photo were 4.5 KB of its first load.
DOCUMENT_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
RASTER_IMAGES = frozenset({"image/webp", "image/jpeg", "image/png"})


def role_required(*roles: str) -> Callable[[F], F]:
    """Allow the view only to logged-in users holding at least one of `roles`.

    Anonymous: redirect to login (401 semantics via Flask-Login). Wrong role: 403.
    """

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_any_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = frozenset(roles)  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def owned_or_404(stmt: Select) -> Any:
    """Return the single object selected by `stmt` (which must already filter on the owner),
    or abort 404 — never 403, so ids of other owners' objects leak nothing."""
    obj = db.session.execute(stmt).scalar_one_or_none()
    if obj is None:
        abort(404)
    return obj


def safe_next_url(target: str | None, fallback: str) -> str:
    """`target` if it is a local absolute path on this site, else `fallback`."""
    if not target:
        return fallback
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return fallback
    return target


def init_security_headers(app: Flask) -> None:
    app.session_interface = SessionCookies()

    @app.before_request
    def _refuse_nul_bytes() -> None:
        # No form field has a use for NUL, and PostgreSQL refuses it in text (a 500 at the
        # INSERT): answer 400 up front. Uploaded files (request.files) are not affected.
        if request.method in ("POST", "PUT", "PATCH") and any(
                "\x00" in value for _, values in request.form.lists() for value in values):
            abort(400)

    @app.after_request
    def _headers(response):
        headers = response.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        if response.mimetype not in RASTER_IMAGES:
            for name, value in DOCUMENT_HEADERS:
                headers.setdefault(name, value)
        if app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if response.mimetype == "text/html":
            response.vary.add("HX-Request")
            if request.endpoint != "static":
                headers.setdefault("Cache-Control", "no-store")
        return response


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed-cookie session (same cookie, same signature), with the signing
    serializer made once per set of keys: Flask makes it — and itsdangerous test-dumps its
    JSON serializer — on every open and every save, ~10 % of an anonymous form page."""

    _made: tuple[tuple, URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        made = self._made
        if made is None or made[0] != keys:
            made = self._made = (keys, super().get_signing_serializer(app))
        return made[1]
