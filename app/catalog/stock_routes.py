"""Inventory blueprint: the seller's stock table with click-to-edit, and the ledger.

It lives in catalog because it lists and changes catalog variants (it used to be
app/inventory/routes.py): the blueprint keeps its name "inventory", so its endpoints
(`inventory.index`, ...), URLs and templates (templates/inventory/) are unchanged. Its
reads are app/catalog/stock_queries.py, its writes app/catalog/stock.py.

URL table:
    GET   /seller/inventaris                         all variants (filter low stock, sort)
    GET   /seller/inventaris/<id>                    one row (htmx: cancel an edit)
    GET   /seller/inventaris/<id>/ubah               the row as an edit form (htmx), or the
                                                     page with that row in edit mode
    POST  /seller/inventaris/<id>/stok               set the stock (expected = value shown)
    POST  /seller/inventaris/<id>/tambah             add 10 (or `jumlah`)
    GET   /seller/inventaris/<id>/kosongkan          "Kosongkan?" asked on the row (htmx), or
                                                     the page with that row asking (no JS)
    POST  /seller/inventaris/<id>/kosongkan          set to 0, only with konfirmasi=ya and the
                                                     stock seen (`semula`: 409 if it moved);
                                                     without konfirmasi it asks first
    GET   /seller/varian/<id>                        a variant and its stock history

Each POST answers the row fragment to htmx and redirects (303) back to the page otherwise.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.accounts.current import my_store
from app.accounts.models import Store
from app.catalog.models import Variant
from app.catalog.stock import (
    MAX_STOCK,
    NEGATIVE_STOCK_MESSAGE,
    StockConflict,
    StockError,
    stock_change,
    stock_set,
)
from app.catalog.stock_queries import inventory_page, owned_variant, variant_movements
from app.core.forms import NumberInputError, parse_int, read_whole_number
from app.core.http import is_htmx, render_page, see_other
from app.core.security import owned_or_404, role_required
from app.core.templating import NavItem, nav_on_register
from app.extensions import db
from app.inventory.models import StockReason

bp = Blueprint("inventory", __name__)

QUICK_ADD = 10
STOCK_REASON_LABELS: dict[str, Any] = {
    StockReason.RESTOCK: _l("Tambah stok"),
    StockReason.ADJUSTMENT: _l("Penyesuaian"),
    StockReason.SALE: _l("Penjualan"),
    StockReason.CANCEL: _l("Pembatalan"),
    StockReason.RETURN: _l("Retur"),
}



def _my_variant(variant_id: int) -> tuple[Store, Variant]:
    shop = my_store()
    return shop, owned_or_404(owned_variant(shop.id, variant_id))


def _page_args() -> dict:
    """The list state (filter, sort, page) carried through edits and redirects."""
    args: dict[str, str | int] = {}
    if request.values.get("rendah") == "1":
        args["rendah"] = "1"
    if request.values.get("urut") in ("stok", "-stok"):
        args["urut"] = request.values["urut"]
    page = parse_int(request.values.get("hal"))
    if page and page > 1:
        args["hal"] = page
    return args


def _render_page(shop: Store, *, editing: int | None = None, status: int = 200,
                 row_error: tuple[int, str] | None = None, typed: str | None = None,
                 confirming: int | None = None):
    args = _page_args()
    inv = inventory_page(store_id=shop.id, threshold=shop.low_stock_threshold,
                          low_only=args.get("rendah") == "1", sort=args.get("urut", ""),
                          page=int(args.get("hal", 1)))
    return render_page("inventory/index.html", "inventory/_table.html", http_status=status,
                       shop=shop, inv=inv, editing=editing, row_error=row_error,
                       typed=typed, list_args=args, confirm_id=confirming)


def _row(shop: Store, variant: Variant, *, editing: bool = False, error: str | None = None,
         typed: str | None = None, status: int = 200, confirming: bool = False):
    return render_page("inventory/_row.html", http_status=status, shop=shop, variant=variant,
                       editing=editing, error=error, typed=typed, list_args=_page_args(),
                       confirming=confirming)


def _after_change(shop: Store, variant: Variant, message: str):
    if is_htmx():
        return _row(shop, variant)
    flash(message, "success")
    return see_other(url_for("inventory.index", **_page_args()) + f"#v{variant.id}")


def _refused(shop: Store, variant: Variant, error: StockError, typed: str | None, *,
             confirming: bool = False):
    db.session.rollback()
    status = 409 if isinstance(error, StockConflict) else 422
    variant = db.session.get_one(Variant, variant.id)
    if confirming:  # "Kosongkan" refused: ask again, with the stock as it is now
        if is_htmx():
            return _row(shop, variant, confirming=True, error=error.message, status=status)
        return _render_page(shop, confirming=variant.id, status=status,
                            row_error=(variant.id, error.message))
    if is_htmx():
        return _row(shop, variant, editing=True, error=error.message, typed=typed,
                    status=status)
    return _render_page(shop, editing=variant.id, status=status,
                        row_error=(variant.id, error.message), typed=typed)


@bp.route("/seller/inventaris")
@role_required("seller")
def index():
    shop = my_store()
    editing = parse_int(request.args.get("ubah"))
    return _render_page(shop, editing=editing,
                        confirming=parse_int(request.args.get("kosongkan")))


@bp.route("/seller/inventaris/<int:variant_id>")
@role_required("seller")
def row(variant_id: int):
    shop, variant = _my_variant(variant_id)
    if not is_htmx():
        return see_other(url_for("inventory.index", **_page_args()) + f"#v{variant.id}")
    return _row(shop, variant)


@bp.route("/seller/inventaris/<int:variant_id>/ubah")
@role_required("seller")
def edit(variant_id: int):
    shop, variant = _my_variant(variant_id)
    if not is_htmx():
        return see_other(url_for("inventory.index", ubah=variant.id, **_page_args())
                         + f"#v{variant.id}")
    return _row(shop, variant, editing=True)


@bp.route("/seller/inventaris/<int:variant_id>/stok", methods=["POST"])
@role_required("seller")
def stock_update(variant_id: int):
    shop, variant = _my_variant(variant_id)
    typed = (request.form.get("stok") or "").strip()
    expected = parse_int(request.form.get("semula"))
    try:
        try:
            new_stock = read_whole_number(typed, maximum=MAX_STOCK,
                                          negative_message=NEGATIVE_STOCK_MESSAGE)
        except NumberInputError as error:
            raise StockError(error.message) from None
        stock_set(variant=variant, new_stock=new_stock, expected=expected, actor=current_user,
                  reason=StockReason.ADJUSTMENT, reference=_("ubah di inventaris"))
        db.session.commit()
    except StockError as error:
        return _refused(shop, variant, error, typed)
    return _after_change(shop, variant, _("Stok %(sku)s sekarang %(stock)s.",
                                          sku=variant.sku, stock=variant.stock))


@bp.route("/seller/inventaris/<int:variant_id>/tambah", methods=["POST"])
@role_required("seller")
def stock_add(variant_id: int):
    shop, variant = _my_variant(variant_id)
    amount = parse_int(request.form.get("jumlah")) or QUICK_ADD
    try:
        if not 0 < amount <= 100_000:
            raise StockError(_("Jumlah tambahan antara 1 dan 100.000."))
        stock_change(variant=variant, delta=amount, reason=StockReason.RESTOCK,
                     actor=current_user, reference=_("tambah cepat"))
        db.session.commit()
    except StockError as error:
        return _refused(shop, variant, error, None)
    return _after_change(shop, variant, _("Stok %(sku)s sekarang %(stock)s.",
                                          sku=variant.sku, stock=variant.stock))


def _ask_to_clear(shop: Store, variant: Variant):
    if is_htmx():
        return _row(shop, variant, confirming=True)
    return see_other(url_for("inventory.index", kosongkan=variant.id, **_page_args())
                     + f"#v{variant.id}")


@bp.route("/seller/inventaris/<int:variant_id>/kosongkan")
@role_required("seller")
def stock_clear_confirm(variant_id: int):
    shop, variant = _my_variant(variant_id)
    return _ask_to_clear(shop, variant)


@bp.route("/seller/inventaris/<int:variant_id>/kosongkan", methods=["POST"])
@role_required("seller")
def stock_clear(variant_id: int):
    """Stock to 0, only once confirmed (`konfirmasi=ya`) and only from the stock the seller
    saw (`semula`, 409 when it moved meanwhile); an unconfirmed POST asks first."""
    shop, variant = _my_variant(variant_id)
    if request.form.get("konfirmasi") != "ya":
        return _ask_to_clear(shop, variant)
    seen = parse_int(request.form.get("semula"))
    if seen is None:  # a hand-made or truncated form: say so, change nothing
        return _refused(shop, variant, StockError(_("Stok yang terlihat tidak terbaca. Muat "
                                                    "ulang halaman lalu coba lagi.")),
                        None, confirming=True)
    try:
        stock_set(variant=variant, new_stock=0, expected=seen, actor=current_user,
                  reason=StockReason.ADJUSTMENT, reference=_("dikosongkan"))
        db.session.commit()
    except StockError as error:
        return _refused(shop, variant, error, None, confirming=True)
    return _after_change(shop, variant, _("Stok %(sku)s dikosongkan.", sku=variant.sku))


@bp.route("/seller/varian/<int:variant_id>")
@role_required("seller")
def variant(variant_id: int):
    shop, item = _my_variant(variant_id)
    return render_page("inventory/variant.html", shop=shop, variant=item,
                       movements=variant_movements(item.id), stock_reasons=STOCK_REASON_LABELS)


# This blueprint's entries in the header (app.core.templating: domains register their
# menu items and badges; `order` is the place in the header).
nav_on_register(
    bp,
    NavItem(_l("Inventaris"), "inventory.index", frozenset({"seller"}), group="store", order=50),
)
