"""Formulas: a client's company keeps its formulas; staff see names, not compositions.

URL table:
    GET        /maklon/formula                  the formulas the user may list
    GET, POST  /maklon/formula/baru             a client's new formula (company required)
    GET        /maklon/formula/<id>             name, product type; composition and cost
                                                per unit only for `can_read_composition`
    GET, POST  /maklon/formula/<id>/ubah        the owning company's client edits it

Another company's formula is a 404 (ownership in the query: `formulas_visible`). Every
composition shown is decrypted through `composition_read` (audited "formula.decrypt",
purpose "view" or "edit"). The line rows are a plain form; "Tambah baris" re-renders it
with one more row (htmx swaps the form, no JS needed otherwise).
"""

from __future__ import annotations

from flask import abort, flash, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import RoleName
from app.core.http import render_page, see_other
from app.core.security import owned_or_404, role_required
from app.extensions import db
from app.maklon.access import can_read_composition, formulas_visible
from app.maklon.formula_crypto import FormulaLine
from app.maklon.formulas import (
    FormulaError,
    active_materials,
    formula_cost,
    formula_lines_parse,
    formula_lines_read,
    formula_save,
    line_cost,
    materials_by_id,
)
from app.maklon.labels import PRODUCT_TYPE_LABELS
from app.maklon.models import Formula, ProductType
from app.maklon.routes import bp

READERS = (RoleName.CLIENT, RoleName.STAFF, RoleName.ADMIN)
BLANK_ROWS_NEW = 3
MAX_ROWS = 60


def _visible_or_404(formula_id: int) -> Formula:
    return owned_or_404(formulas_visible(current_user).where(Formula.id == formula_id))


def _rows_from_form() -> list[tuple[str, str]]:
    materials = request.form.getlist("bahan")
    amounts = request.form.getlist("jumlah")
    count = min(max(len(materials), len(amounts)), MAX_ROWS)
    return [(materials[i] if i < len(materials) else "",
             amounts[i] if i < len(amounts) else "") for i in range(count)]


def _rows_from_lines(lines: list[FormulaLine]) -> list[tuple[str, str]]:
    return [(str(line.material_id), format(line.amount.normalize(), "f")) for line in lines]


def _form_page(*, formula: Formula | None, name: str, product_type: str,
               rows: list[tuple[str, str]], errors: dict[str, str], status: int):
    action = (url_for("maklon.formula_edit", formula_id=formula.id) if formula
              else url_for("maklon.formula_new"))
    cancel = (url_for("maklon.formula_detail", formula_id=formula.id) if formula
              else url_for("maklon.formulas"))
    return render_page("maklon/formula_form.html", "maklon/_formula_form.html",
                       http_status=status, formula=formula, name=name,
                       product_type=product_type, rows=rows, errors=errors, action=action,
                       cancel=cancel, materials=active_materials(),
                       product_types=PRODUCT_TYPE_LABELS)


def _submitted(formula: Formula | None):
    """Handle a POST of the formula form: add a row, or validate and save."""
    name = (request.form.get("nama") or "").strip()
    product_type = request.form.get("jenis") or ""
    rows = _rows_from_form()
    if request.form.get("tambah_baris") is not None:
        rows.append(("", ""))
        return _form_page(formula=formula, name=name, product_type=product_type, rows=rows,
                          errors={}, status=200)
    lines, errors = formula_lines_parse([r[0] for r in rows], [r[1] for r in rows])
    if not errors:
        try:
            saved = formula_save(formula=formula, company_id=current_user.company_id,
                                 name=name, product_type=product_type, lines=lines,
                                 actor=current_user)
            db.session.commit()
        except FormulaError as error:
            db.session.rollback()
            errors = error.errors
            formula = db.session.get(Formula, formula.id) if formula else None
        else:
            flash(_("Formula %(name)s disimpan.", name=saved.name), "success")
            return see_other(url_for("maklon.formula_detail", formula_id=saved.id))
    else:
        # Name and type are checked too, so every message shows at once.
        if not name:
            errors["name"] = _("Wajib diisi.")
        if product_type not in ProductType.ALL:
            errors["product_type"] = _("Pilih jenis produk.")
    return _form_page(formula=formula, name=name, product_type=product_type,
                      rows=rows or [("", "")], errors=errors, status=422)


@bp.route("/maklon/formula")
@role_required(*READERS)
def formulas():
    items = db.session.scalars(formulas_visible(current_user)
                               .order_by(Formula.name, Formula.id)).all()
    can_create = current_user.has_role(RoleName.CLIENT) and current_user.company_id is not None
    return render_page("maklon/formulas.html", formulas=items, can_create=can_create,
                       product_types=PRODUCT_TYPE_LABELS)


@bp.route("/maklon/formula/baru", methods=["GET", "POST"])
@role_required(RoleName.CLIENT)
def formula_new():
    if current_user.company_id is None:
        abort(403)  # a client account not linked to a company has nowhere to keep one
    if request.method == "POST":
        return _submitted(None)
    return _form_page(formula=None, name="", product_type=ProductType.SKINCARE,
                      rows=[("", "")] * BLANK_ROWS_NEW, errors={}, status=200)


@bp.route("/maklon/formula/<int:formula_id>")
@role_required(*READERS)
def formula_detail(formula_id: int):
    formula = _visible_or_404(formula_id)
    readable = can_read_composition(current_user, formula)
    lines: list[FormulaLine] = []
    cost = None
    materials = {}
    if readable:
        lines = formula_lines_read(formula, actor=current_user, purpose="view")
        materials = materials_by_id({line.material_id for line in lines})
        cost = formula_cost(lines)
    can_edit = (current_user.has_role(RoleName.CLIENT)
                and current_user.company_id == formula.company_id)
    return render_page("maklon/formula.html", formula=formula, readable=readable,
                       lines=lines, materials=materials, cost=cost, line_cost=line_cost,
                       can_edit=can_edit, product_types=PRODUCT_TYPE_LABELS)


@bp.route("/maklon/formula/<int:formula_id>/ubah", methods=["GET", "POST"])
@role_required(RoleName.CLIENT)
def formula_edit(formula_id: int):
    formula = _visible_or_404(formula_id)  # a client: only the company's own
    if request.method == "POST":
        return _submitted(formula)
    lines = formula_lines_read(formula, actor=current_user, purpose="edit")
    return _form_page(formula=formula, name=formula.name, product_type=formula.product_type,
                      rows=[*_rows_from_lines(lines), ("", "")], errors={}, status=200)
