"""Cart routes: the cart page, add from the product page, change quantity, remove.

Without JavaScript every action is a plain POST answered by a redirect (or the page with
a message); with htmx the cart partial (and the badge in the top bar, out of band) is
swapped in place. Guests who press "Tambah ke keranjang" log in and come back to the
product.
"""

from __future__ import annotations

from flask import abort, flash, make_response, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.accounts.models import RoleName
from app.core.forms import NumberInputError, parse_int, read_integer
from app.core.http import is_htmx, render_page, see_other
from app.core.security import role_required
from app.extensions import db
from app.orders.cart import (
    CartError,
    CartErrorCode,
    cart_add,
    cart_count,
    cart_item_owned,
    cart_remove,
    cart_set_quantity,
    cart_view,
)
from app.orders.models import CartItem
from app.orders.routes import bp


def _cart_page(http_status: int = 200, messages: dict[int, str] | None = None):
    view = cart_view(current_user.id)
    return render_page("orders/cart.html", "orders/_cart.html", http_status,
                       cart=view, messages=messages or {}, badge_count=len(view.lines))


@bp.route("/keranjang")
@role_required(RoleName.CUSTOMER)
def cart():
    return _cart_page()


def _product_url(product_id: int | None) -> str:
    return url_for("catalog.product", product_id=product_id) if product_id \
        else url_for("catalog.search")


@bp.route("/keranjang/tambah", methods=["POST"])
def cart_add_route():
    product_id = parse_int(request.form.get("product_id"))
    if not current_user.is_authenticated:
        # Come back to the product (not to this POST-only address) after logging in.
        login_url = url_for("accounts.login", next=_product_url(product_id))
        if is_htmx():
            response = make_response("", 401)
            response.headers["HX-Redirect"] = login_url
            return response
        flash(_("Masuk dulu untuk menambahkan barang ke keranjang."), "info")
        return redirect(login_url)
    if not current_user.has_role(RoleName.CUSTOMER):
        abort(403)
    variant_id = parse_int(request.form.get("variant_id"))
    try:
        if variant_id is None:
            raise CartError(_("Pilih varian produk."))
        quantity = _typed_quantity(request.form.get("quantity") or "1")
        change = cart_add(user=current_user, variant_id=variant_id, quantity=quantity)
    except CartError as error:
        db.session.rollback()
        return _add_refused(error.message, product_id)
    db.session.commit()
    name = change.item.variant.product.name
    if is_htmx():
        view = cart_view(current_user.id)
        return render_page("orders/_added.html", item=change.item, notice=change.notice,
                           cart=view, badge_count=len(view.lines))
    flash(_("%(name)s ditambahkan ke keranjang.", name=name), "success")
    if change.notice:
        flash(change.notice, "info")
    return see_other(_product_url(change.item.variant.product_id))


def _typed_quantity(text: str | None) -> int:
    """The quantity typed in a cart form (the cart service says if it is out of bounds:
    "Jumlah minimal 1.", "Jumlah maksimal 999 per barang."); CartError when it is not a
    whole number."""
    try:
        return read_integer(text)
    except NumberInputError as error:
        raise CartError(error.message, code=CartErrorCode.QUANTITY_INVALID) from None


def _add_refused(message: str, product_id: int | None):
    if is_htmx():
        return render_page("orders/_added.html", http_status=422, item=None, error=message,
                           cart=None, badge_count=cart_count(current_user.id))
    if product_id is None:
        abort(400)
    from app.catalog.product_page import product_page

    flash(message, "error")
    body, _status = product_page(product_id)
    return body, 422


def _owned_item(item_id: int) -> CartItem:
    item = cart_item_owned(user=current_user, item_id=item_id)
    if item is None:
        abort(404)
    return item


@bp.route("/keranjang/<int:item_id>", methods=["POST"])
@role_required(RoleName.CUSTOMER)
def cart_update(item_id: int):
    item = _owned_item(item_id)
    try:
        quantity = _typed_quantity(request.form.get("quantity"))
        change = cart_set_quantity(item=item, quantity=quantity)
    except CartError as error:
        db.session.rollback()
        return _cart_page(422, {item_id: error.message})
    db.session.commit()
    if is_htmx():
        return _cart_page(messages={item_id: change.notice} if change.notice else None)
    if change.notice:
        flash(change.notice, "info")
    return see_other(url_for("orders.cart"))


@bp.route("/keranjang/<int:item_id>/hapus", methods=["POST"])
@role_required(RoleName.CUSTOMER)
def cart_remove_route(item_id: int):
    cart_remove(item=_owned_item(item_id))
    db.session.commit()
    if is_htmx():
        return _cart_page()
    flash(_("Barang dihapus dari keranjang."), "success")
    return see_other(url_for("orders.cart"))
