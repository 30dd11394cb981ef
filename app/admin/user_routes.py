"""Admin routes for user management (registered on the admin blueprint, under /admin).

URL table:
    GET  /admin/pengguna                                   users: search, role/status filters
    GET  /admin/pengguna/<id>                              one user: roles, sessions, actions
    POST /admin/pengguna/<id>/peran                        set the user's roles
    POST /admin/pengguna/<id>/nonaktifkan                  deactivate (ends every session)
    POST /admin/pengguna/<id>/aktifkan                     activate again
    POST /admin/pengguna/<id>/tautan-atur-ulang            email a password reset link
    POST /admin/pengguna/<id>/sesi/<session_id>/akhiri     end one session of the user
"""

from __future__ import annotations

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import RoleName, User, UserSession
from app.accounts.sessions import sessions_active
from app.admin.routes import bp
from app.admin.users import (
    STATUSES,
    UserAdminError,
    live_session_counts,
    user_activate,
    user_deactivate,
    user_reset_link_send,
    user_roles_set,
    user_session_end,
    users_page,
)
from app.core.forms import parse_int
from app.core.http import render_page, see_other
from app.core.security import owned_or_404, role_required
from app.extensions import db

QUERY_MAX = 100


def _user_or_404(user_id: int) -> User:
    return owned_or_404(select(User).where(User.id == user_id))


@bp.route("/pengguna")
@role_required(RoleName.ADMIN)
def users():
    list_args = {
        "q": request.args.get("q", "").strip()[:QUERY_MAX],
        "peran": request.args.get("peran", "") if request.args.get("peran") in RoleName.ALL
        else "",
        "status": request.args.get("status", "") if request.args.get("status") in STATUSES
        else "",
    }
    listing = users_page(query=list_args["q"], role=list_args["peran"],
                         status=list_args["status"],
                         page=parse_int(request.args.get("hal")) or 1)
    return render_page("admin/users.html", "admin/_users_table.html", listing=listing,
                       session_counts=live_session_counts(listing.items),
                       list_args=list_args, role_names=RoleName.ALL, statuses=STATUSES)


def _detail(user: User, http_status: int = 200, *, error: str | None = None,
            roles_error: str | None = None, roles_checked: list[str] | None = None):
    return render_page(
        "admin/user_detail.html", http_status=http_status, user=user,
        sessions=sessions_active(user.id), role_names=RoleName.ALL,
        roles_checked=sorted(user.role_names) if roles_checked is None else roles_checked,
        error=error, roles_error=roles_error,
        this_session_id=getattr(current_user.current_session, "id", None))


@bp.route("/pengguna/<int:user_id>")
@role_required(RoleName.ADMIN)
def user_detail(user_id: int):
    return _detail(_user_or_404(user_id))


def _refused(user: User, error: UserAdminError, roles_checked: list[str] | None = None):
    db.session.rollback()
    if error.field == "roles":
        return _detail(user, error.status, roles_error=error.message,
                       roles_checked=roles_checked)
    return _detail(user, error.status, error=error.message, roles_checked=roles_checked)


@bp.route("/pengguna/<int:user_id>/peran", methods=["POST"])
@role_required(RoleName.ADMIN)
def user_roles(user_id: int):
    user = _user_or_404(user_id)
    roles = request.form.getlist("roles")
    seen = request.form.getlist("seen")
    try:
        if not set(seen) <= set(RoleName.ALL):
            raise UserAdminError(_("Formulir tidak sah. Muat ulang halaman."), status=422,
                                 field="roles")
        changed = user_roles_set(user=user, roles=roles, actor=current_user,
                                 seen=seen or None)
    except UserAdminError as error:
        return _refused(user, error, roles_checked=[r for r in roles if r in RoleName.ALL])
    db.session.commit()
    if changed is None:
        flash(_("Peran tidak berubah."), "info")
    else:
        flash(_("Peran %(name)s disimpan.", name=user.name), "success")
    return see_other(url_for("admin.user_detail", user_id=user_id))


@bp.route("/pengguna/<int:user_id>/nonaktifkan", methods=["POST"])
@role_required(RoleName.ADMIN)
def user_deactivate_route(user_id: int):
    user = _user_or_404(user_id)
    try:
        ended = user_deactivate(user=user, actor=current_user)
    except UserAdminError as error:
        return _refused(user, error)
    db.session.commit()
    if ended is None:
        flash(_("Pengguna ini sudah nonaktif."), "info")
    else:
        flash(_("%(name)s dinonaktifkan; %(count)s sesi diakhiri.", name=user.name,
                count=ended), "success")
    return see_other(url_for("admin.user_detail", user_id=user_id))


@bp.route("/pengguna/<int:user_id>/aktifkan", methods=["POST"])
@role_required(RoleName.ADMIN)
def user_activate_route(user_id: int):
    user = _user_or_404(user_id)
    changed = user_activate(user=user, actor=current_user)
    db.session.commit()
    if changed:
        flash(_("%(name)s diaktifkan dan dapat masuk lagi.", name=user.name), "success")
    else:
        flash(_("Pengguna ini sudah aktif."), "info")
    return see_other(url_for("admin.user_detail", user_id=user_id))


@bp.route("/pengguna/<int:user_id>/tautan-atur-ulang", methods=["POST"])
@role_required(RoleName.ADMIN)
def user_reset_link(user_id: int):
    user = _user_or_404(user_id)
    try:
        sent = user_reset_link_send(user=user, actor=current_user)
    except UserAdminError as error:
        return _refused(user, error)
    db.session.commit()
    if sent:
        flash(_("Tautan atur ulang kata sandi dikirim ke %(email)s.", email=user.email),
              "success")
    else:
        flash(_("Tautan atur ulang baru saja dikirim ke pengguna ini; tidak dikirim lagi."),
              "info")
    return see_other(url_for("admin.user_detail", user_id=user_id))


@bp.route("/pengguna/<int:user_id>/sesi/<int:session_id>/akhiri", methods=["POST"])
@role_required(RoleName.ADMIN)
def user_session_end_route(user_id: int, session_id: int):
    row = owned_or_404(select(UserSession).where(UserSession.id == session_id,
                                                 UserSession.user_id == user_id))
    if user_session_end(user_session=row, actor=current_user):
        flash(_("Sesi diakhiri; perangkat itu harus masuk lagi."), "success")
    else:
        flash(_("Sesi ini sudah berakhir."), "info")
    db.session.commit()
    return see_other(url_for("admin.user_detail", user_id=user_id))
