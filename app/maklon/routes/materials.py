"""Raw-material inventory for staff (tablet-friendly, click to edit).

URL table:
    GET        /bahan-baku                       list: search `q`, low stock `rendah=1`
    GET, POST  /bahan-baku/baru                  a new raw material
    GET        /bahan-baku/<id>                  one row (htmx: cancel an edit)
    GET        /bahan-baku/<id>/ubah             the row as an edit form (htmx), or the page
                                                 with that row in edit mode; `?stok=1`: the
                                                 row's restock / usage form instead
    POST       /bahan-baku/<id>/ubah             save name, origin, reorder level, unit cost
    POST       /bahan-baku/<id>/stok             restock (`arah=restock`) or usage
                                                 (`arah=usage`) of `jumlah` base units
    GET        /bahan-baku/<id>/riwayat          the material's ledger, paginated

Each POST answers the row fragment to htmx and redirects (303) to the list otherwise; bad
input re-renders the row (or the page) with the message at the field, 422.
"""

from __future__ import annotations

from typing import Any

from flask import flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from app.accounts.models import RoleName
from app.core.forms import NumberInputError, parse_int, read_whole_number
from app.core.http import is_htmx, render_page, see_other
from app.core.security import owned_or_404, role_required
from app.extensions import db
from app.inventory.models import StockReason
from app.maklon.materials import MaterialError
from app.maklon.models import RawMaterial
from app.maklon.raw_materials import (
    MAX_MOVE,
    UNITS,
    MaterialInputError,
    is_low,
    material_create,
    material_move,
    material_movements,
    material_update,
    material_values_parse,
    materials_page,
)
from app.maklon.routes import bp

STAFF = (RoleName.STAFF, RoleName.ADMIN)
MATERIAL_REASON_LABELS: dict[str, Any] = {
    StockReason.RESTOCK: _l("Tambah stok"),
    StockReason.USAGE: _l("Pemakaian"),
    StockReason.CONSUME: _l("Dipakai produksi"),
    StockReason.ADJUSTMENT: _l("Penyesuaian"),
}


def _material_or_404(material_id: int) -> RawMaterial:
    return owned_or_404(select(RawMaterial).where(RawMaterial.id == material_id))


def _list_args() -> dict:
    """The list state (search, filter, page) carried through edits and redirects."""
    args: dict = {}
    q = (request.values.get("q") or "").strip()[:100]
    if q:
        args["q"] = q
    if request.values.get("rendah") == "1":
        args["rendah"] = "1"
    page = parse_int(request.values.get("hal"))
    if page and page > 1:
        args["hal"] = page
    return args


def _render_list(*, editing: int | None = None, mode: str = "edit", status: int = 200,
                 row_errors: dict[int, dict[str, str]] | None = None,
                 typed: dict[str, str] | None = None):
    args = _list_args()
    page = materials_page(q=args.get("q", ""), low_only=args.get("rendah") == "1",
                          page=int(args.get("hal", 1)))
    return render_page("maklon/materials.html", "maklon/_material_table.html",
                       http_status=status, mats=page, editing=editing, mode=mode,
                       row_errors=row_errors or {}, typed=typed or {}, list_args=args,
                       is_low=is_low)


def _row(material: RawMaterial, *, mode: str = "view", errors: dict | None = None,
         typed: dict | None = None, status: int = 200):
    """The row partial; `mode`: view, edit (attributes) or stock (restock / usage)."""
    return render_page("maklon/_material_row.html", http_status=status, material=material,
                       mode=mode, errors=errors or {}, typed=typed or {},
                       list_args=_list_args(), is_low=is_low)


def _done(material: RawMaterial, message: str):
    if is_htmx():
        return _row(material)
    flash(message, "success")
    return see_other(url_for("maklon.materials", **_list_args()) + f"#m{material.id}")


def _refused(material_id: int, errors: dict[str, str], *, mode: str):
    db.session.rollback()
    material = db.session.get_one(RawMaterial, material_id)
    typed = {k: v for k, v in request.form.items() if k != "csrf_token"}
    if is_htmx():
        return _row(material, mode=mode, errors=errors, typed=typed, status=422)
    return _render_list(editing=material.id, mode=mode, status=422,
                        row_errors={material.id: errors}, typed=typed)


@bp.route("/bahan-baku")
@role_required(*STAFF)
def materials():
    stock = parse_int(request.args.get("stok"))
    if stock:
        return _render_list(editing=stock, mode="stock")
    return _render_list(editing=parse_int(request.args.get("ubah")))


@bp.route("/bahan-baku/baru", methods=["GET", "POST"])
@role_required(*STAFF)
def material_new():
    errors: dict[str, str] = {}
    form = {k: v for k, v in request.form.items() if k != "csrf_token"}
    if request.method == "POST":
        try:
            values = material_values_parse(request.form, creating=True)
            material = material_create(values=values, actor=current_user)
            db.session.commit()
        except MaterialInputError as error:
            db.session.rollback()
            errors = error.errors
        except MaterialError as error:
            db.session.rollback()
            errors = {"stok_awal": error.message}
        else:
            flash(_("Bahan baku %(name)s ditambahkan.", name=material.name), "success")
            return see_other(url_for("maklon.materials") + f"#m{material.id}")
    return render_page("maklon/material_form.html", http_status=422 if errors else 200,
                       form=form, errors=errors, units=UNITS)


@bp.route("/bahan-baku/<int:material_id>")
@role_required(*STAFF)
def material_row(material_id: int):
    material = _material_or_404(material_id)
    if not is_htmx():
        return see_other(url_for("maklon.materials", **_list_args()) + f"#m{material.id}")
    return _row(material)


@bp.route("/bahan-baku/<int:material_id>/ubah", methods=["GET", "POST"])
@role_required(*STAFF)
def material_edit(material_id: int):
    material = _material_or_404(material_id)
    if request.method == "GET":
        stock = request.args.get("stok") == "1"
        if not is_htmx():
            target = {"stok": material.id} if stock else {"ubah": material.id}
            return see_other(url_for("maklon.materials", **target, **_list_args())
                             + f"#m{material.id}")
        return _row(material, mode="stock" if stock else "edit")
    try:
        values = material_values_parse(request.form, creating=False)
        material_update(material=material, values=values, actor=current_user)
        db.session.commit()
    except MaterialInputError as error:
        return _refused(material.id, error.errors, mode="edit")
    return _done(material, _("Bahan baku %(name)s disimpan.", name=material.name))


@bp.route("/bahan-baku/<int:material_id>/stok", methods=["POST"])
@role_required(*STAFF)
def material_stock(material_id: int):
    material = _material_or_404(material_id)
    direction = request.form.get("arah") or ""
    try:
        quantity = read_whole_number(request.form.get("jumlah"), minimum=1, maximum=MAX_MOVE)
    except NumberInputError as error:
        return _refused(material.id, {"jumlah": error.message}, mode="stock")
    try:
        movement = material_move(material=material, direction=direction, quantity=quantity,
                                 actor=current_user,
                                 reference=(request.form.get("catatan") or "").strip()[:120])
        db.session.commit()
    except MaterialError as error:
        return _refused(material.id, {"jumlah": error.message}, mode="stock")
    return _done(material, _("Stok %(name)s sekarang %(n)s %(unit)s.", name=material.name,
                             n=movement.stock_after, unit=material.unit))


@bp.route("/bahan-baku/<int:material_id>/riwayat")
@role_required(*STAFF)
def material_history(material_id: int):
    material = _material_or_404(material_id)
    page = max(1, parse_int(request.args.get("hal")) or 1)
    return render_page("maklon/material_history.html", material=material,
                       movements=material_movements(material.id, page=page),
                       reasons=MATERIAL_REASON_LABELS, is_low=is_low)
