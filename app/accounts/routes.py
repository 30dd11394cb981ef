"""Accounts blueprint: register, log in/out, profile, password.

URL table:
    GET/POST /daftar              register (customer or seller with store)
    GET/POST /masuk               log in (rate-limited per account and per IP)
    GET/POST /masuk/verifikasi    second step for 2FA accounts: a TOTP or recovery code
    POST     /keluar              log out
    GET/POST /akun                profile
    GET/POST /akun/kata-sandi     password change (re-authentication first)
    GET/POST /akun/konfirmasi     re-authentication: password (+ 2FA code), then `next`
    GET/POST /akun/2fa            two-factor login: enrol (QR code) or its status
    POST     /akun/2fa/matikan             switch 2FA off (not for required roles)
    POST     /akun/2fa/kode-pemulihan      ten new recovery codes (shown once)
    GET      /akun/sesi                        where the account is logged in
    POST     /akun/sesi/keluar-lainnya         log out every other session
    POST     /akun/sesi/<id>/keluar            log out one other session
    GET/POST /lupa-kata-sandi                  ask for a reset link (same answer for any email)
    GET      /lupa-kata-sandi/terkirim         "check your email"
    GET/POST /atur-ulang-kata-sandi/<token>    set a new password with the link (single use)
    GET      /akun/alamat                      saved shipping addresses
    GET/POST /akun/alamat/baru                 add an address (`?next=` back to checkout)
    GET/POST /akun/alamat/<id>/ubah            edit an address
    POST     /akun/alamat/<id>/utama           make it the default
    POST     /akun/alamat/<id>/hapus           delete it (orders keep their own copy)
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from app.accounts.addresses import (
    AddressError,
    address_create,
    address_delete,
    address_make_default,
    address_owned,
    address_update,
    addresses_of,
)
from app.accounts.forms import (
    AddressForm,
    LoginForm,
    NewPasswordForm,
    PasswordChangeForm,
    ProfileForm,
    RegisterForm,
    ResetRequestForm,
)
from app.accounts.login_limits import login_account_key, login_ip_key
from app.accounts.models import Address, User, UserSession
from app.accounts.password_reset import (
    ResetLinkInvalid,
    reset_complete,
    reset_request,
    reset_token_valid,
)
from app.accounts.reauth import reauth_mark, reauth_required
from app.accounts.services import (
    AccountError,
    StoreDetails,
    normalize_email,
    password_change,
    profile_update,
    user_authenticate,
    user_register,
)
from app.accounts.sessions import (
    session_open,
    session_revoke,
    sessions_active,
    sessions_revoke_others,
)
from app.accounts.totp import totp_enabled
from app.audit.services import audit_record, audit_record_now
from app.core.cache import anonymous_form_page
from app.core.clock import utcnow
from app.core.http import form_status, render_page, see_other
from app.core.security import safe_next_url
from app.extensions import db, limiter

log = logging.getLogger(__name__)
bp = Blueprint("accounts", __name__)


def _reset_cookie_session() -> None:
    """Empty the cookie session (nothing from before is trusted), keeping only the
    visitor's language choice."""
    language = session.get("lang")
    session.clear()
    if language:
        session["lang"] = language


def _start_session(user: User, *, remember: bool) -> None:
    """Rotate the cookie session, open a server-side session row and log the user in.
    A fresh login counts as a re-authentication (see accounts.reauth)."""
    _reset_cookie_session()
    row = session_open(user=user, remember=remember)
    db.session.commit()
    login_user(user, remember=remember)
    reauth_mark(row.id)


# A 2FA account's password was right: who, since when, and where to go once the code is in.
PENDING_LOGIN_KEY = "login_pending"
PENDING_LOGIN_SECONDS = 5 * 60


def _pending_login_start(user: User, *, remember: bool, next_url: str) -> None:
    _reset_cookie_session()
    session[PENDING_LOGIN_KEY] = {"user_id": user.id, "at": int(utcnow().timestamp()),
                                  "remember": remember, "next": next_url}


def _pending_login() -> dict[str, Any] | None:
    """The pending login of this browser if it is younger than 5 minutes, else None."""
    pending = session.get(PENDING_LOGIN_KEY)
    if not isinstance(pending, dict) or not isinstance(pending.get("user_id"), int):
        return None
    age = utcnow().timestamp() - float(pending.get("at") or 0)
    return pending if 0 <= age <= PENDING_LOGIN_SECONDS else None


def _field_error(form, error: AccountError) -> None:
    field = getattr(form, error.field or "", None)
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def _register_ip_key() -> str:
    return "register-ip:" + (get_remote_address() or "")


@bp.route("/daftar", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_LIMIT_PER_IP"], key_func=_register_ip_key,
               methods=["POST"], scope="register-ip")
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        store = None
        if form.account_type.data == "seller":
            store = StoreDetails(name=form.store_name.data or "",
                                 location=form.store_location.data or "")
        try:
            user = user_register(
                name=form.name.data or "",
                email=form.email.data or "",
                password=form.password.data or "",
                phone=form.phone.data or "",
                locale=session.get("lang", current_app.config["BABEL_DEFAULT_LOCALE"]),
                store=store,
            )
        except AccountError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            _start_session(user, remember=False)
            flash(_("Selamat datang di Racik, %(name)s!", name=user.name), "success")
            return see_other(url_for("main.index"))
    status = 422 if request.method == "POST" else 200
    return render_page("accounts/register.html", "accounts/_register_form.html", status,
                       form=form)


def _login_account_key() -> str:
    return login_account_key(request.form.get("email", ""))


def _failed_login(response) -> bool:
    return response.status_code == 422


@bp.route("/masuk", methods=["GET", "POST"])
def login():
    next_url = safe_next_url(request.values.get("next"), url_for("main.index"))
    if current_user.is_authenticated:
        return redirect(next_url)
    if request.method == "GET":
        # The same page for every first visit: rendered once, with each visitor's own
        # CSRF token put in (core.cache.anonymous_form_page; issue 24). Showing the form
        # is never rate limited, so it does not pass the limiter either.
        return anonymous_form_page(lambda: render_page(
            "accounts/login.html", "accounts/_login_form.html", form=LoginForm(),
            next_url=next_url)[0]), 200
    return _login_submit(next_url)


# Shared limits: the web login and the API login count together per account and IP.
@limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
                      key_func=_login_account_key, methods=["POST"],
                      deduct_when=_failed_login, scope="login-account")
@limiter.shared_limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"],
                      key_func=login_ip_key, methods=["POST"],
                      deduct_when=_failed_login, scope="login-ip")
def _login_submit(next_url: str):
    """The POST of /masuk (see `login`)."""
    form = LoginForm()
    if form.validate_on_submit():
        user = user_authenticate(email=form.email.data or "", password=form.password.data or "")
        if user is not None and totp_enabled(user):
            # No session yet: the second step (/masuk/verifikasi) opens it.
            db.session.commit()
            _pending_login_start(user, remember=bool(form.remember.data), next_url=next_url)
            log.info("login of user %s waits for the second factor", user.id)
            return see_other(url_for("accounts.login_verify"))
        if user is not None:
            audit_record("auth.login", actor=user, object_type="user", object_id=user.id)
            _start_session(user, remember=bool(form.remember.data))
            log.info("login ok for user %s", user.id)
            flash(_("Anda berhasil masuk."), "success")
            return see_other(next_url)
        db.session.commit()  # ends the transaction (and SQLite's write lock) first
        audit_record_now("auth.login_failed", actor=None,
                         note=normalize_email(form.email.data or ""))
        log.info("login failed")
        form.password.errors = [_("Email atau kata sandi salah.")]
    status = 422 if request.method == "POST" else 200
    return render_page("accounts/login.html", "accounts/_login_form.html", status,
                       form=form, next_url=next_url)


@bp.route("/keluar", methods=["POST"])
def logout():
    if current_user.is_authenticated:
        if current_user.current_session is not None:
            session_revoke(user_session=current_user.current_session)
            audit_record("auth.logout", object_type="user", object_id=current_user.id)
            db.session.commit()
        logout_user()
    _reset_cookie_session()
    flash(_("Anda telah keluar."), "success")
    return see_other(url_for("main.index"))


@bp.route("/akun", methods=["GET", "POST"])
@login_required
def profile():
    form = ProfileForm(obj=current_user)
    if form.validate_on_submit():
        profile_update(user=current_user, name=form.name.data or "", phone=form.phone.data or "",
                       locale=form.locale.data, npwp=form.npwp.data or "")
        db.session.commit()
        session["lang"] = current_user.locale
        flash(_("Profil disimpan."), "success")
        return see_other(url_for("accounts.profile"))
    status = 422 if request.method == "POST" else 200
    return render_page("accounts/profile.html", "accounts/_profile_form.html", status, form=form)


@bp.route("/akun/kata-sandi", methods=["GET", "POST"])
@login_required
@reauth_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            ended = password_change(
                user=current_user,
                current_password=form.current_password.data or "",
                new_password=form.new_password.data or "",
            )
        except AccountError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            message = _("Kata sandi diubah.")
            if ended:
                message += " " + ngettext(
                    "Sesi di %(num)s perangkat lain telah diakhiri.",
                    "Sesi di %(num)s perangkat lain telah diakhiri.",
                    ended,
                )
            flash(message, "success")
            return see_other(url_for("accounts.profile"))
    status = 422 if request.method == "POST" else 200
    return render_page("accounts/password.html", "accounts/_password_form.html", status,
                       form=form)


# --- sessions ------------------------------------------------------------------------------


@bp.route("/akun/sesi")
@login_required
def sessions():
    this_session = current_user.current_session
    rows = sorted(sessions_active(current_user.id), key=lambda row: row.id != this_session.id)
    return render_page("accounts/sessions.html", rows=rows, this_session=this_session)


@bp.route("/akun/sesi/keluar-lainnya", methods=["POST"])
@login_required
def sessions_end_others():
    ended = sessions_revoke_others(user=current_user, keep=current_user.current_session)
    db.session.commit()
    log.info("user %s ended %s other session(s)", current_user.id, ended)
    flash(ngettext("%(num)s sesi lain diakhiri.", "%(num)s sesi lain diakhiri.", ended),
          "success")
    return see_other(url_for("accounts.sessions"))


@bp.route("/akun/sesi/<int:session_id>/keluar", methods=["POST"])
@login_required
def session_end(session_id: int):
    row = db.session.scalars(select(UserSession).where(
        UserSession.id == session_id, UserSession.user_id == current_user.id,
        UserSession.revoked_at.is_(None))).first()
    if row is None or row.id == current_user.current_session.id:
        abort(404)  # not one of this user's other live sessions (log out ends this one)
    session_revoke(user_session=row)
    db.session.commit()
    flash(_("Sesi di perangkat itu diakhiri."), "success")
    return see_other(url_for("accounts.sessions"))


# --- forgotten password ---------------------------------------------------------------------


def _reset_email_key() -> str:
    return "reset-email:" + normalize_email(request.form.get("email", ""))[:320]


def _reset_ip_key() -> str:
    return "reset-ip:" + (get_remote_address() or "")


def _reset_sent(response) -> bool:
    return response.status_code == 303


@bp.route("/lupa-kata-sandi", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_EMAIL"], key_func=_reset_email_key,
               methods=["POST"], deduct_when=_reset_sent, scope="reset-email")
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_IP"], key_func=_reset_ip_key,
               methods=["POST"], scope="reset-ip")
def forgot_password():
    form = ResetRequestForm()
    if form.validate_on_submit():
        reset_request(email=normalize_email(form.email.data or ""))
        db.session.commit()
        return see_other(url_for("accounts.forgot_password_sent"))
    return render_page("accounts/forgot.html", http_status=form_status(), form=form)


@bp.route("/lupa-kata-sandi/terkirim")
def forgot_password_sent():
    return render_page("accounts/forgot_sent.html")


@bp.route("/atur-ulang-kata-sandi/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    link = reset_token_valid(token)
    if link is None:
        return render_page("accounts/reset_invalid.html", http_status=410)
    form = NewPasswordForm()
    if form.validate_on_submit():
        try:
            reset_complete(row=link, new_password=form.new_password.data or "")
        except ResetLinkInvalid:
            db.session.rollback()
            return render_page("accounts/reset_invalid.html", http_status=410)
        except AccountError as error:
            db.session.rollback()
            _field_error(form, error)
        else:
            db.session.commit()
            if current_user.is_authenticated:  # this browser's session ended with the others
                logout_user()
                _reset_cookie_session()
            flash(_("Kata sandi baru tersimpan. Silakan masuk."), "success")
            return see_other(url_for("accounts.login"))
    return render_page("accounts/reset.html", http_status=form_status(), form=form)


# --- shipping addresses -------------------------------------------------------------------


def _owned_address(address_id: int) -> Address:
    address = address_owned(user=current_user, address_id=address_id)
    if address is None:
        abort(404)
    return address


def _after_address(form: AddressForm) -> str:
    return safe_next_url(form.next.data or request.args.get("next"),
                         url_for("accounts.addresses"))


@bp.route("/akun/alamat")
@login_required
def addresses():
    return render_page("accounts/addresses.html", addresses=addresses_of(current_user.id))


@bp.route("/akun/alamat/baru", methods=["GET", "POST"])
@login_required
def address_new():
    form = AddressForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        try:
            address_create(user=current_user, data=form.address_data())
        except AddressError as error:
            db.session.rollback()
            form.form_errors.append(error.message)
        else:
            db.session.commit()
            flash(_("Alamat disimpan."), "success")
            return see_other(_after_address(form))
    return render_page("accounts/address_form.html", http_status=form_status(), form=form,
                       address=None)


@bp.route("/akun/alamat/<int:address_id>/ubah", methods=["GET", "POST"])
@login_required
def address_edit(address_id: int):
    address = _owned_address(address_id)
    form = AddressForm(obj=address)
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        address_update(user=current_user, address=address, data=form.address_data())
        db.session.commit()
        flash(_("Alamat disimpan."), "success")
        return see_other(_after_address(form))
    return render_page("accounts/address_form.html", http_status=form_status(), form=form,
                       address=address)


@bp.route("/akun/alamat/<int:address_id>/utama", methods=["POST"])
@login_required
def address_default_route(address_id: int):
    address_make_default(user=current_user, address=_owned_address(address_id))
    db.session.commit()
    flash(_("Alamat utama diganti."), "success")
    return see_other(safe_next_url(request.form.get("next"), url_for("accounts.addresses")))


@bp.route("/akun/alamat/<int:address_id>/hapus", methods=["POST"])
@login_required
def address_delete_route(address_id: int):
    address_delete(user=current_user, address=_owned_address(address_id))
    db.session.commit()
    flash(_("Alamat dihapus."), "success")
    return see_other(url_for("accounts.addresses"))


# The second login step, re-authentication and the 2FA pages register on `bp` too.
from app.accounts import twofactor_routes  # noqa: E402, F401
