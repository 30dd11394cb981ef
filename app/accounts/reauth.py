"""Re-authentication ("confirm it's you") before sensitive account changes.

    from app.accounts.reauth import reauth_required

    @bp.route("/akun/kata-sandi", methods=["GET", "POST"])
    @login_required
    @reauth_required
    def change_password(): ...

The user must have confirmed their password — plus a two-factor code when 2FA is on —
within the last `REAUTH_WINDOW` (5 minutes); otherwise they are sent to
`/akun/konfirmasi?next=<here>` and come back after confirming. A fresh login counts as a
confirmation. The time is kept in the signed cookie session together with the id of the
server-side `UserSession` it was confirmed in, so it never outlives that login (logging in
again, or a remembered login after the browser was closed, starts without it).

Used for: password change, switching 2FA on/off, new recovery codes; later contract signing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import flash, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.core.clock import utcnow
from app.core.http import see_other
from app.core.security import safe_next_url
from app.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])

REAUTH_WINDOW = timedelta(minutes=5)
SESSION_KEY = "reauth"


def reauth_mark(user_session_id: int) -> None:
    """Remember that the user confirmed who they are just now (in this login session)."""
    session[SESSION_KEY] = {"sid": user_session_id, "at": int(utcnow().timestamp())}


def reauth_fresh() -> bool:
    """True when the logged-in user confirmed within REAUTH_WINDOW in this login session."""
    if not current_user.is_authenticated or current_user.current_session is None:
        return False
    mark = session.get(SESSION_KEY)
    if not isinstance(mark, dict) or mark.get("sid") != current_user.current_session.id:
        return False
    age = utcnow().timestamp() - float(mark.get("at") or 0)
    return 0 <= age <= REAUTH_WINDOW.total_seconds()


def _back_url() -> str:
    """Where to come back to: this page for a GET; for a form post, the page the form was on
    (the post itself cannot be repeated by a redirect)."""
    if request.method == "GET":
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path:
        path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
        return safe_next_url(path, url_for("accounts.profile"))
    return url_for("accounts.profile")


def reauth_url(next_url: str) -> str:
    return url_for("accounts.reauth", next=next_url)


def reauth_required(view: F) -> F:
    """Let the view run only for a user who confirmed their password (and 2FA code) within
    REAUTH_WINDOW; otherwise redirect (303, or `HX-Redirect` for htmx) to the confirmation
    page, which comes back here. Anonymous users go to the login page."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        if not reauth_fresh():
            flash(_("Demi keamanan, konfirmasikan dulu bahwa ini Anda."), "info")
            return see_other(reauth_url(_back_url()))
        return view(*args, **kwargs)

    wrapped.reauth_required = True  # type: ignore[attr-defined]
    return wrapped  # type: ignore[return-value]
