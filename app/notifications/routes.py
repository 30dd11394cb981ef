"""Notification pages: a person's switches and Telegram link, the admin's bot settings,
and the webhook Telegram posts updates to.

    GET/POST /akun/notifikasi                   my switches per kind and channel
    POST     /akun/notifikasi/telegram          a one-time code to link my chat
    POST     /akun/notifikasi/telegram/lepas    unlink my chat
    GET/POST /admin/telegram                    admin: bot token and username
    POST     /admin/telegram/webhook            admin: register the webhook (a job)
    POST     /telegram/webhook                  Telegram: updates, trusted by the secret header
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from flask import Blueprint, abort, flash, jsonify, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.accounts.models import RoleName
from app.core.http import form_status, public_url, render_page, see_other
from app.core.queue import enqueue_after_commit
from app.core.security import role_required
from app.extensions import csrf, db
from app.notifications import telegram
from app.notifications.forms import CsrfOnlyForm, PrefsForm, TelegramSettingsForm
from app.notifications.prefs import (
    Channel,
    kinds_for,
    notification_optouts,
    notification_prefs_save,
)

log = logging.getLogger(__name__)

bp = Blueprint("notifications", __name__)


def _prefs_context(*, form: PrefsForm | None = None, code: str = "",
                   error: str = "") -> dict[str, Any]:
    user = current_user
    link = telegram.telegram_link_of(user.id)
    return {
        "prefs_form": form or PrefsForm(),
        "action_form": CsrfOnlyForm(),
        "kinds": kinds_for(user),
        "channels": Channel.ALL,
        "optouts": notification_optouts(user.id),
        "telegram_on": telegram.telegram_configured(),
        "telegram_link": link if link is not None and link.chat_id is not None else None,
        "telegram_unlinked_reason": link.unlinked_reason if link is not None else "",
        "telegram_code": code,
        "telegram_bot": telegram.telegram_bot_username(),
        "prefs_error": error,
    }


@bp.app_context_processor
def _profile_section() -> dict[str, Any]:
    """`notification_section()` for the profile page's include."""
    return {"notification_section": _prefs_context}


@bp.route("/akun/notifikasi", methods=["GET", "POST"])
@login_required
def preferences():
    """My switches: GET shows them, POST stores the checked `kind:channel` pairs (422 with a
    message for a pair that is not mine to set, nothing saved)."""
    form = PrefsForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            return render_page("notifications/preferences.html", "notifications/_prefs.html",
                               422, **_prefs_context(form=form, error=_(
                                   "Formulir kedaluwarsa. Muat ulang halaman lalu coba lagi.")))
        allowed = {f"{info.kind}:{channel}" for info in kinds_for(current_user)
                   for channel in Channel.ALL}
        chosen = request.form.getlist("on")
        if any(value not in allowed for value in chosen):
            return render_page("notifications/preferences.html", "notifications/_prefs.html",
                               422, **_prefs_context(form=form, error=_(
                                   "Pilihan notifikasi tidak dikenal. Muat ulang halaman "
                                   "lalu coba lagi.")))
        # every value is "kind:channel" (checked against `allowed` above)
        notification_prefs_save(user=current_user, enabled={
            (kind, channel) for kind, _sep, channel in (v.partition(":") for v in chosen)})
        db.session.commit()
        if request.headers.get("HX-Request"):
            return render_page("notifications/preferences.html", "notifications/_prefs.html",
                               **_prefs_context(), prefs_saved=True)
        flash(_("Pengaturan notifikasi disimpan."), "success")
        return see_other(url_for("notifications.preferences"))
    return render_page("notifications/preferences.html", "notifications/_prefs.html",
                       **_prefs_context())


@bp.route("/akun/notifikasi/telegram", methods=["POST"])
@login_required
def telegram_code():
    """A fresh one-time code (shown once) to send to the bot as `/start CODE`."""
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    if not telegram.telegram_configured():
        return render_page("notifications/preferences.html", "notifications/_telegram.html",
                           409, **_prefs_context())
    code = telegram.telegram_code_create(user=current_user)
    db.session.commit()
    return render_page("notifications/preferences.html", "notifications/_telegram.html",
                       **_prefs_context(code=code))


@bp.route("/akun/notifikasi/telegram/lepas", methods=["POST"])
@login_required
def telegram_unlink():
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    telegram.telegram_unlink(user_id=current_user.id, reason="user")
    db.session.commit()
    flash(_("Telegram dilepas dari akun Anda."), "success")
    if request.headers.get("HX-Request"):
        return render_page("notifications/preferences.html", "notifications/_telegram.html",
                           **_prefs_context())
    return see_other(url_for("notifications.preferences"))


@bp.route("/admin/telegram", methods=["GET", "POST"])
@role_required(RoleName.ADMIN)
def telegram_settings():
    """The bot token (never shown back) and username; 422 with the message at the field."""
    form = TelegramSettingsForm()
    if form.validate_on_submit():
        if form.remove_token.data:
            token: str | None = ""
        else:
            token = (form.token.data or "").strip() or None
        telegram.telegram_settings_save(token=token, username=(form.username.data or "").strip(),
                                        actor=current_user)
        db.session.commit()
        flash(_("Pengaturan Telegram disimpan."), "success")
        return see_other(url_for("notifications.telegram_settings"))
    if request.method == "GET":
        form.username.data = telegram.telegram_bot_username()
    return render_page("notifications/telegram_settings.html", None, form_status(), form=form,
                       action_form=CsrfOnlyForm(), configured=telegram.telegram_configured(),
                       webhook_url=public_url("notifications.telegram_webhook"),
                       counts=telegram.telegram_status_counts(),
                       linked=telegram.telegram_linked_count())


@bp.route("/admin/telegram/webhook", methods=["POST"])
@role_required(RoleName.ADMIN)
def telegram_webhook_register():
    """Ask Telegram (from a job) to deliver updates to our webhook."""
    if not CsrfOnlyForm().validate_on_submit():
        abort(400)
    if not telegram.telegram_configured():
        flash(_("Simpan token bot terlebih dahulu."), "error")
        return see_other(url_for("notifications.telegram_settings"))
    enqueue_after_commit("jobs.notifications.telegram_webhook_register",
                         public_url("notifications.telegram_webhook"), retries=3)
    db.session.commit()
    flash(_("Pendaftaran webhook dikirim ke Telegram."), "success")
    return see_other(url_for("notifications.telegram_settings"))


@bp.route("/telegram/webhook", methods=["POST"])
@csrf.exempt
def telegram_webhook():
    """Telegram's updates. 404 while Telegram is off, 401 without the right secret header
    (nothing read), 400 for a body that is not JSON; otherwise 200 (Telegram would resend
    anything else), whatever the update said."""
    secret = telegram.telegram_webhook_secret()
    if not telegram.telegram_configured() or not secret:
        abort(404)
    given = request.headers.get(telegram.SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        log.warning("telegram webhook: wrong secret header")
        return jsonify({"ok": False}), 401
    update = request.get_json(silent=True)
    if not isinstance(update, dict):
        return jsonify({"ok": False}), 400
    outcome = telegram.telegram_update_handle(update)
    db.session.commit()
    return jsonify({"ok": True, "result": outcome})
