"""Admin routes for system settings (registered on the admin blueprint, under /admin).

URL table:
    GET  /admin/pengaturan              every section, one form each, with each value's state
    POST /admin/pengaturan/<section>    save one section (perusahaan, pajak, stok,
                                        pembayaran, crm): 303 + flash, or 422 with the
                                        messages at the fields and nothing saved; with htmx
                                        the section swaps in place
    GET  /admin/pengaturan/logo         the company logo (admin only; printed on invoices)
"""

from __future__ import annotations

from flask import abort, flash, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import RoleName
from app.admin.routes import bp
from app.admin.settings import (
    SECTIONS,
    Section,
    SettingsRejected,
    section_form_data,
    setting_states,
    settings_section_save,
)
from app.admin.settings_forms import GATEWAY_LABELS
from app.core.company import SETTING_LOGO
from app.core.http import is_htmx, render_page, see_other
from app.core.security import role_required
from app.core.settings import setting_get
from app.core.storage import storage_send
from app.extensions import db

ALL_KEYS = tuple(key for section in SECTIONS.values() for key in section.keys)


def _stored_form(section: Section):
    return section.form_class(formdata=None, data=section_form_data(section))


def _page(http_status: int = 200, *, section: Section | None = None, form=None,
          saved: str = ""):
    """The whole page, or (htmx) only `section`, with `form` in place of its stored
    values (a form that came back with messages, or a fresh one after saving)."""
    if is_htmx() and section is not None:
        return render_page("admin/_settings_section.html", http_status=http_status,
                           section=section, form=form, states=setting_states(section.keys),
                           saved=saved, gateway_labels=GATEWAY_LABELS)
    forms = {slug: (form if section is not None and slug == section.slug
                    else _stored_form(each)) for slug, each in SECTIONS.items()}
    return render_page("admin/settings.html", http_status=http_status,
                       sections=list(SECTIONS.values()), forms=forms,
                       states=setting_states(ALL_KEYS), gateway_labels=GATEWAY_LABELS)


@bp.route("/pengaturan")
@role_required(RoleName.ADMIN)
def settings():
    return _page()


@bp.route("/pengaturan/<section>", methods=["POST"])
@role_required(RoleName.ADMIN)
def settings_save(section: str):
    current = SECTIONS.get(section) or abort(404)
    form = current.form_class()
    if not form.validate():
        return _page(422, section=current, form=form)
    logo = getattr(form, "logo", None)
    try:
        changed = settings_section_save(
            section=current, values=form.values(list(current.fields)), actor=current_user,
            logo=logo.data.read() if logo is not None and logo.data else None,
            logo_remove=bool(getattr(form, "logo_remove", None) and form.logo_remove.data))
    except SettingsRejected as error:
        db.session.rollback()
        form[error.field].errors = [*form[error.field].errors, error.message]
        return _page(422, section=current, form=form)
    db.session.commit()
    message = (_("%(section)s disimpan.", section=current.title) if changed
               else _("Tidak ada yang berubah."))
    if is_htmx():
        return _page(section=current, form=_stored_form(current), saved=message)
    flash(message, "success" if changed else "info")
    return see_other(url_for("admin.settings") + f"#pengaturan-{current.slug}")


@bp.route("/pengaturan/logo")
@role_required(RoleName.ADMIN)
def settings_logo():
    key = setting_get(SETTING_LOGO, "")
    if not key:
        abort(404)
    response = storage_send(key, public_only=False)
    # The URL stays the same when the logo changes (the page adds ?v=<file name>), and
    # only admins may fetch it: no shared caches.
    response.cache_control.public = False
    response.cache_control.private = True
    return response
