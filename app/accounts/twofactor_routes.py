"""Two-factor login pages on the accounts blueprint (see the URL table in accounts.routes).

- `/masuk/verifikasi`: the second login step. The password step left a pending login
  (user id + time, 5 minutes) in the signed cookie session; a right code opens the session
  exactly like a plain login (`_start_session`, `remember`, `next`).
- `/akun/konfirmasi`: re-authentication for `reauth_required` views.
- `/akun/2fa`: enrolment (QR code drawn on the server, the secret as text), then the
  recovery codes once; when on: new recovery codes, switching it off.
- A user whose role must use 2FA (TOTP_REQUIRED_ROLES) and has not switched it on is held
  at the enrolment page (`_hold_for_enrolment`).

Wrong codes answer 422 and are audited (`auth.totp_failed`); more than TOTP_LIMIT_PER_USER
of them (second step and re-authentication together, per account) answer 429.
"""

from __future__ import annotations

import logging
from types import SimpleNamespace

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required

from app.accounts.forms import ReauthForm, SecondFactorForm, TotpEnableForm
from app.accounts.models import User
from app.accounts.passwords import password_verify
from app.accounts.reauth import reauth_mark, reauth_required
from app.accounts.routes import (
    PENDING_LOGIN_KEY,
    _pending_login,
    _start_session,
    bp,
)
from app.accounts.totp import (
    SecretUnreadable,
    recovery_codes_left,
    recovery_codes_regenerate,
    second_factor_check,
    secret_decrypt,
    secret_encrypt,
    totp_disable,
    totp_enable,
    totp_enabled,
    totp_required,
    totp_secret_new,
    totp_uri,
)
from app.audit.services import audit_record, audit_record_now
from app.core.http import form_status, is_htmx, render_error, render_page, see_other
from app.core.qr import qr_svg
from app.core.security import safe_next_url
from app.extensions import db, limiter

log = logging.getLogger(__name__)

ENROL_KEY = "totp_enrol"  # the secret being enrolled, encrypted, in the cookie session


def _wrong_code() -> str:
    return _("Kode salah, kedaluwarsa, atau sudah dipakai.")


def _code_user_key() -> str:
    """Failed codes are counted per account: the pending login's, or the logged-in one's."""
    pending = session.get(PENDING_LOGIN_KEY)
    if isinstance(pending, dict) and pending.get("user_id"):
        return f"totp-user:{pending['user_id']}"
    if current_user.is_authenticated:
        return f"totp-user:{current_user.id}"
    return "totp-ip:" + (get_remote_address() or "")


def _code_refused(response) -> bool:
    return response.status_code == 422


_code_limit = limiter.shared_limit(
    lambda: current_app.config["TOTP_LIMIT_PER_USER"], scope="totp-user",
    key_func=_code_user_key, methods=["POST"], deduct_when=_code_refused)


def _code_failed(user: User, where: str) -> None:
    """Audit a refused code, after ending the request's transaction (nothing was written).
    The actor is a plain copy: reloading the expired `user` would open a new transaction
    (on SQLite one holding the write lock `audit_record_now` then waits for)."""
    actor = SimpleNamespace(id=user.id, email=user.email)
    db.session.rollback()
    audit_record_now("auth.totp_failed", actor=actor, object_type="user", object_id=actor.id,
                     note=where)
    log.info("wrong two-factor code for user %s (%s)", actor.id, where)


# --- the second login step ----------------------------------------------------------------


@bp.route("/masuk/verifikasi", methods=["GET", "POST"])
@_code_limit
def login_verify():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    pending = _pending_login()
    user = db.session.get(User, pending["user_id"]) if pending else None
    if user is None or not user.active or not totp_enabled(user):
        if PENDING_LOGIN_KEY in session:
            session.pop(PENDING_LOGIN_KEY)
            flash(_("Waktu verifikasi habis. Silakan masuk lagi."), "info")
        return redirect(url_for("accounts.login"))
    form = SecondFactorForm()
    if form.validate_on_submit():
        how = second_factor_check(user, form.code.data or "")
        if how is not None:
            audit_record("auth.login", actor=user, object_type="user", object_id=user.id,
                         note=how)
            next_url = safe_next_url(pending.get("next"), url_for("main.index"))
            _start_session(user, remember=bool(pending.get("remember")))
            log.info("login ok for user %s (second factor: %s)", user.id, how)
            flash(_("Anda berhasil masuk."), "success")
            return see_other(next_url)
        _code_failed(user, "login")
        form.code.errors = [*form.code.errors, _wrong_code()]
    return render_page("accounts/login_verify.html", "accounts/_login_verify_form.html",
                       form_status(), form=form)


# --- re-authentication --------------------------------------------------------------------


@bp.route("/akun/konfirmasi", methods=["GET", "POST"])
@login_required
@_code_limit
def reauth():
    form = ReauthForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    next_url = safe_next_url(form.next.data, url_for("accounts.profile"))
    needs_code = totp_enabled(current_user)
    if form.validate_on_submit():
        user = current_user._get_current_object()
        if not password_verify(user.password_hash, form.password.data or ""):
            form.password.errors = [_("Kata sandi salah.")]
        elif needs_code and not (form.code.data or "").strip():
            form.code.errors = [_("Wajib diisi.")]
        elif needs_code and second_factor_check(user, form.code.data or "") is None:
            _code_failed(user, "reauth")
            form.code.errors = [_wrong_code()]
        else:
            db.session.commit()  # a spent code or recovery code (and its audit row)
            reauth_mark(user.current_session.id)
            return see_other(next_url)
    return render_page("accounts/reauth.html", http_status=form_status(), form=form,
                       needs_code=needs_code)


# --- enrolment and settings -------------------------------------------------------------------


def _enrol_secret() -> str:
    """The secret being enrolled in this browser (a new one the first time)."""
    stored = session.get(ENROL_KEY)
    if stored:
        try:
            return secret_decrypt(stored)
        except SecretUnreadable:
            pass
    secret = totp_secret_new()
    session[ENROL_KEY] = secret_encrypt(secret)
    return secret


def _grouped(secret: str) -> str:
    """`ABCD EFGH ...`: easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _recovery_codes_page(codes: list[str], *, first_time: bool):
    return render_page("accounts/recovery_codes.html", codes=codes, first_time=first_time)


@bp.route("/akun/2fa", methods=["GET", "POST"])
@login_required
@reauth_required
def totp():
    user = current_user._get_current_object()
    if totp_enabled(user):
        if request.method == "POST":
            flash(_("Verifikasi dua langkah sudah aktif."), "info")
            return see_other(url_for("accounts.totp"))
        return render_page("accounts/totp.html", enabled=True, required=totp_required(user),
                           codes_left=recovery_codes_left(user))
    secret = _enrol_secret()
    form = TotpEnableForm()
    if form.validate_on_submit():
        codes = totp_enable(user=user, secret=secret, code=form.code.data or "")
        if codes is not None:
            db.session.commit()
            session.pop(ENROL_KEY, None)
            return _recovery_codes_page(codes, first_time=True)
        db.session.rollback()
        form.code.errors = [*form.code.errors, _("Kode tidak cocok. Periksa jam di ponsel "
                                                 "Anda, lalu ketik kode yang sedang tampil.")]
    uri = totp_uri(user=user, secret=secret)
    return render_page("accounts/totp.html", http_status=form_status(), enabled=False,
                       required=totp_required(user), form=form, secret=_grouped(secret),
                       qr=qr_svg(uri, label=_("Kode QR untuk aplikasi autentikator"),
                                 test_id="totp-qr"))


@bp.route("/akun/2fa/matikan", methods=["POST"])
@login_required
@reauth_required
def totp_disable_route():
    user = current_user._get_current_object()
    if totp_required(user):
        return render_error(403, _("Peran Anda wajib memakai verifikasi dua langkah; "
                                   "fitur ini tidak dapat dimatikan."))
    if not totp_disable(user=user):
        return render_error(409, _("Verifikasi dua langkah belum aktif."))
    db.session.commit()
    flash(_("Verifikasi dua langkah dimatikan."), "success")
    return see_other(url_for("accounts.totp"))


@bp.route("/akun/2fa/kode-pemulihan", methods=["POST"])
@login_required
@reauth_required
def recovery_codes_route():
    codes = recovery_codes_regenerate(user=current_user._get_current_object())
    if codes is None:
        return render_error(409, _("Verifikasi dua langkah belum aktif."))
    db.session.commit()
    return _recovery_codes_page(codes, first_time=False)


# --- roles that must use two-factor login -----------------------------------------------------

# What a held user may still reach: the enrolment (and the confirmation it may ask for),
# logging out, the language switch and static files.
ALLOWED_WHILE_HELD = frozenset({
    "static", "accounts.totp", "accounts.reauth", "accounts.logout", "core.switch_language",
    "core.healthz", "core.livez", "core.metrics",
})


@bp.before_app_request
def _hold_for_enrolment():
    if request.endpoint is None or request.endpoint in ALLOWED_WHILE_HELD:
        return None
    if not current_user.is_authenticated:
        return None
    if totp_enabled(current_user) or not totp_required(current_user):
        return None
    if is_htmx() or request.method != "GET":
        return see_other(url_for("accounts.totp"))
    return redirect(url_for("accounts.totp"))

