"""The cart and checkout of a customer (the web's /keranjang and /checkout).

    GET    /cart                       the cart grouped per store: lines, what blocks
                                       checkout, subtotals, shipping, totals
    POST   /cart/items                 add a variant (201 a new line, 200 added to a line);
                                       a quantity above the stock is capped (`notice`)
    PATCH  /cart/items/<item_id>       set a line's quantity (capped the same way)
    DELETE /cart/items/<item_id>       remove a line
    POST   /checkout                   place the cart: one checkout, one order per store, one
                                       payment (Idempotency-Key honoured, here and by the
                                       checkout service itself)
    GET    /checkouts/<reference>      a placed checkout: its orders and its payment

The rules are the services' (app/orders/cart.py, app/orders/checkout.py): stock taken by
conditional UPDATEs, so concurrent checkouts never oversell; the losers get 409
`out_of_stock` with their short lines in `fields`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from flask import abort, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.accounts.addresses import address_owned
from app.accounts.models import RoleName
from app.api import bp
from app.api.error_codes import ApiErrorCode
from app.api.errors import ApiError
from app.api.routes.payments import PaymentOut, payment_out, reference_or_404
from app.api.routes.shipping import CourierChoiceIn
from app.api.schemas import Id, Input, Output, Quantity, StoreRef, trimmed
from app.api.spec import operation
from app.core.security import owned_or_404
from app.extensions import db
from app.orders.cart import (
    CartError,
    CartErrorCode,
    CartLine,
    CartView,
    cart_add,
    cart_item_owned,
    cart_remove,
    cart_set_quantity,
    cart_view,
)
from app.orders.checkout import (
    IDEMPOTENCY_KEY,
    CheckoutError,
    checkout_place,
    new_idempotency_key,
)
from app.orders.lifecycle import ORDER_STATUS_LABELS
from app.orders.models import CartItem, Checkout, Order
from app.payments.method_choice import PAYMENT_METHODS
from app.payments.services import payment_charge_committed, payment_of_checkout
from app.shipping.view import order_shipping

log = logging.getLogger(__name__)
TAG_CART = "Keranjang"
TAG_CHECKOUT = "Checkout"
NOTE_MAX = 300  # as the web's checkout form
CUSTOMER = (RoleName.CUSTOMER,)

# A choice built at import time from a table: pydantic reads the Literal at run time, a
# type checker sees the str it is.
if TYPE_CHECKING:
    PaymentMethod = str
else:
    PaymentMethod = Literal[tuple(PAYMENT_METHODS)]


# --- models ----------------------------------------------------------------------------------

class CartLineOut(Output):
    """One cart line; `problem` (when not null) blocks checkout until the buyer fixes it."""

    id: int = Field(description="The cart line (item_id).")
    variant_id: int
    product_id: int
    product_name: str
    options: dict[str, str]
    options_label: str
    sku: str
    unit_price: int = Field(description="Whole Rupiah.")
    quantity: int
    line_total: int
    stock: int = Field(description="Units available now.")
    withdrawn: bool = Field(description="The product or this option is no longer sold.")
    problem: str | None


class CartStoreOut(Output):
    """The lines of one store: they become one order at checkout."""

    store: StoreRef
    lines: list[CartLineOut]
    units: int
    subtotal: int
    shipping_cost: int = Field(description="The store's flat cost; 0 when it ships with "
                                           "couriers (GET /cart/shipping-rates).")
    total: int


class CartOut(Output):
    """The cart grouped per store, with its totals."""

    stores: list[CartStoreOut]
    line_count: int
    units: int
    subtotal: int
    shipping_total: int
    total: int
    blocked: bool = Field(description="A line has a problem: checkout is refused until "
                                      "it is fixed.")


class CartChangeOut(Output):
    """The line as it is now, whether the stock capped the quantity, and the whole cart."""

    item: CartLineOut
    capped: bool
    notice: str | None = Field(description="Why the quantity differs from the one asked.")
    cart: CartOut


class CartAddIn(Input):
    variant_id: Id
    quantity: Quantity = 1


class CartQuantityIn(Input):
    quantity: Quantity


class StoreNoteIn(Input):
    store_id: Id
    note: Annotated[str, trimmed(NOTE_MAX)]


class CheckoutIn(Input):
    address_id: Id = Field(description="One of the buyer's addresses (GET "
                                       "/me/addresses).")
    payment_method: PaymentMethod
    notes: list[StoreNoteIn] = Field(default_factory=list, max_length=100,
                                     description="A note to a store of the cart.")
    couriers: list[CourierChoiceIn] = Field(
        default_factory=list, max_length=100,
        description="The service chosen for each store that offers couriers (GET "
                    "/cart/shipping-rates); its cost is computed by the server.")


class CheckoutOrderItemOut(Output):
    """One line of a checkout's order: a snapshot taken at checkout."""

    product_id: int | None
    variant_id: int | None
    product_name: str
    options: dict[str, str]
    sku: str
    unit_price: int
    quantity: int
    line_total: int


class CheckoutOrderOut(Output):
    """The order one store fulfils."""

    number: str
    status: str
    status_label: str
    payment_status: str
    store: StoreRef
    item_count: int
    subtotal: int
    shipping_cost: int
    shipping_service: str | None = Field(description="courier:SERVICE chosen for it; "
                                                     "null: the store's flat cost.")
    total: int
    note: str
    items: list[CheckoutOrderItemOut]


class CheckoutOut(Output):
    """A placed checkout: one order per store and the one payment for all of them."""

    reference: str
    payment_method: str
    payment_method_label: str
    payment_status: str
    subtotal: int
    shipping_total: int
    total: int
    created_at: datetime
    orders: list[CheckoutOrderOut]
    payment: PaymentOut | None


# --- shaping ---------------------------------------------------------------------------------

def _line_out(line: CartLine) -> CartLineOut:
    return CartLineOut(
        id=line.item.id, variant_id=line.variant.id, product_id=line.product.id,
        product_name=line.product.name, options=dict(line.variant.options or {}),
        options_label=line.variant.label, sku=line.variant.sku,
        unit_price=line.variant.price, quantity=line.item.quantity,
        line_total=line.line_total, stock=max(line.variant.stock, 0),
        withdrawn=line.withdrawn, problem=line.problem or None)


def _store_ref(store) -> StoreRef:
    return StoreRef(id=store.id, name=store.name, slug=store.slug)


def cart_out(view: CartView) -> CartOut:
    return CartOut(
        stores=[CartStoreOut(store=_store_ref(group.store),
                             lines=[_line_out(line) for line in group.lines],
                             units=group.units, subtotal=group.subtotal,
                             shipping_cost=group.flat_shipping,
                             total=group.subtotal + group.flat_shipping)
                for group in view.groups],
        line_count=len(view.lines), units=view.units, subtotal=view.subtotal,
        shipping_total=view.shipping_total, total=view.total, blocked=view.blocked)


def checkout_out(placed: Checkout) -> CheckoutOut:
    payment = payment_of_checkout(placed.id)
    return CheckoutOut(
        reference=placed.reference, payment_method=placed.payment_method,
        payment_method_label=str(PAYMENT_METHODS.get(placed.payment_method,
                                                     placed.payment_method)),
        payment_status=placed.payment_status, subtotal=placed.subtotal,
        shipping_total=placed.shipping_total, total=placed.total,
        created_at=placed.created_at,
        orders=[CheckoutOrderOut(
            number=order.number, status=order.status,
            status_label=str(ORDER_STATUS_LABELS.get(order.status, order.status)),
            payment_status=order.payment_status, store=_store_ref(order.store),
            item_count=order.item_count, subtotal=order.subtotal,
            shipping_cost=order.shipping_cost, total=order.total, note=order.note,
            shipping_service=order_shipping(order, with_events=False).service or None,
            items=[CheckoutOrderItemOut(
                product_id=item.product_id, variant_id=item.variant_id,
                product_name=item.product_name, options=dict(item.options or {}),
                sku=item.sku, unit_price=item.unit_price, quantity=item.quantity,
                line_total=item.line_total) for item in order.items])
            for order in placed.orders],
        payment=payment_out(payment) if payment is not None else None)


# --- errors ----------------------------------------------------------------------------------

# CartError.code -> (status, the request field it is about)
CART_ERRORS: dict[CartErrorCode, tuple[int, str]] = {
    CartErrorCode.QUANTITY_INVALID: (422, "quantity"),
    CartErrorCode.UNAVAILABLE: (422, "variant_id"),
    CartErrorCode.OWN_PRODUCT: (422, "variant_id"),
    CartErrorCode.OUT_OF_STOCK: (409, ""),
    CartErrorCode.CART_FULL: (409, ""),
    CartErrorCode.WITHDRAWN: (409, ""),
}


def _cart_error(error: CartError) -> ApiError:
    status, field = CART_ERRORS.get(error.code, (422, ""))
    return ApiError(status, error.code, error.message, fields={field: ""} if field else None)


# CheckoutError.code -> (status, field)
CHECKOUT_ERRORS = {
    "address_invalid": (422, "address_id"),
    "payment_method_invalid": (422, "payment_method"),
    "cart_empty": (422, "cart"),
    "cart_blocked": (409, "cart"),
    "form_expired": (422, "Idempotency-Key"),
    "courier_required": (422, "couriers"),
    "courier_unavailable": (409, "couriers"),
}


def _checkout_error(error: CheckoutError) -> ApiError:
    if error.short:
        return ApiError(409, ApiErrorCode.OUT_OF_STOCK, error.message, fields={
            f"cart_items.{line.item_id}": _(
                "%(product)s: diminta %(wanted)s, tersedia %(available)s.",
                product=f"{line.product_name} ({line.options_label})"
                if line.options_label else line.product_name,
                wanted=line.wanted, available=line.available)
            for line in error.short})
    status, field = CHECKOUT_ERRORS.get(error.code, (422, ""))
    return ApiError(status, error.code, error.message,
                    fields={field or error.field or "body": ""})


# --- cart ------------------------------------------------------------------------------------

def _owned_item(item_id: int) -> CartItem:
    """The caller's cart line; another user's is a 404 (the web's `cart_item_owned`)."""
    item = cart_item_owned(user=current_user, item_id=item_id)
    if item is None:
        abort(404)
    return item


def _change_out(item_id: int, notice: str) -> CartChangeOut:
    view = cart_view(current_user.id)
    line = next(line for line in view.lines if line.item.id == item_id)
    return CartChangeOut(item=_line_out(line), capped=bool(notice), notice=notice or None,
                         cart=cart_out(view))


@operation(bp, "/cart", "GET", tag=TAG_CART, summary="The cart, grouped per store",
           response=CartOut, roles=CUSTOMER)
def cart_get():
    return cart_out(cart_view(current_user.id))


@operation(bp, "/cart/items", "POST", tag=TAG_CART, summary="Add a variant to the cart",
           body=CartAddIn, response=CartChangeOut, status=201, roles=CUSTOMER,
           errors=(409,), extra_responses={200: CartChangeOut})
def cart_item_add(body: CartAddIn):
    """201 with a new line, 200 when added to the variant's line. A quantity above the
    stock is capped to it (`capped`, `notice`). 422 `unavailable`/`own_product` (variant_id)
    or `quantity_invalid`; 409 `out_of_stock` (sold out) or `cart_full`."""
    had_line = db.session.scalar(select(CartItem.id).where(
        CartItem.user_id == current_user.id, CartItem.variant_id == body.variant_id))
    try:
        change = cart_add(user=current_user, variant_id=body.variant_id,
                          quantity=body.quantity)
    except CartError as error:
        db.session.rollback()
        raise _cart_error(error) from None
    db.session.commit()
    return _change_out(change.item.id, change.notice), 200 if had_line else 201


@operation(bp, "/cart/items/<id:item_id>", "PATCH", tag=TAG_CART,
           summary="Set a cart line's quantity", body=CartQuantityIn, response=CartChangeOut,
           roles=CUSTOMER, errors=(409,))
def cart_item_update(item_id: int, body: CartQuantityIn):
    """Capped to the stock like adding. 404: not the caller's line. 422 `quantity_invalid`;
    409 `out_of_stock` (sold out: remove it) or `withdrawn` (no longer sold: remove it)."""
    item = _owned_item(item_id)
    try:
        change = cart_set_quantity(item=item, quantity=body.quantity)
    except CartError as error:
        db.session.rollback()
        raise _cart_error(error) from None
    db.session.commit()
    return _change_out(change.item.id, change.notice)


@operation(bp, "/cart/items/<id:item_id>", "DELETE", tag=TAG_CART,
           summary="Remove a cart line", response=None, status=204, roles=CUSTOMER)
def cart_item_delete(item_id: int):
    """404: not the caller's line."""
    cart_remove(item=_owned_item(item_id))
    db.session.commit()
    return None


# --- checkout --------------------------------------------------------------------------------

@operation(bp, "/checkout", "POST", tag=TAG_CHECKOUT, summary="Place the cart: one order "
           "per store, one payment", body=CheckoutIn, response=CheckoutOut, status=201,
           roles=CUSTOMER, errors=(409,), idempotent=True,
           extra_responses={200: CheckoutOut})
def checkout_create(body: CheckoutIn):
    """As the web's "Bayar": the checkout is committed, then the gateway is asked for the
    payment details outside its transaction (`payment.charged: false` when it failed: ask
    again with POST /checkouts/<reference>/payment). 409 `out_of_stock` (the short lines
    in `fields` as `cart_items.<item_id>`; nothing bought, the cart intact) or
    `cart_blocked` (a line no longer sold) or `courier_unavailable` (a chosen service no
    longer offered or not serving the address); 422 `address_invalid` (address_id),
    `cart_empty` (cart), `courier_required` (a store with couriers has no choice). The
    Idempotency-Key (when it is 16-64 letters, digits or dashes)
    is also the checkout's own key: a repeat finds the first checkout (200)."""
    key = request.headers.get("Idempotency-Key") or ""
    if not IDEMPOTENCY_KEY.match(key):
        key = new_idempotency_key()
    notes = {note.store_id: note.note for note in body.notes if note.note}
    try:
        result = checkout_place(
            buyer=current_user,
            address=address_owned(user=current_user, address_id=body.address_id),
            payment_method=body.payment_method, idempotency_key=key, notes=notes,
            couriers={choice.store_id: choice.service for choice in body.couriers})
    except CheckoutError as error:
        db.session.rollback()
        if error.short:
            log.info("api checkout refused for user %s: %s lines short", current_user.id,
                     len(error.short))
        raise _checkout_error(error) from None
    # The gateway is asked outside the checkout's transaction; a failure is recorded and
    # POST /checkouts/<reference>/payment tries again.
    payment_charge_committed(payment_of_checkout(result.checkout.id))
    reference = result.checkout.reference
    if result.replayed:
        log.info("api checkout %s submitted again: answered with the first", reference)
    return (checkout_out(_checkout_of(reference)), 200 if result.replayed else 201,
            {"Location": url_for("api.checkout_get", reference=reference)})


def _checkout_of(reference: str) -> Checkout:
    """The caller's checkout (the web's `checkout_detail` query), else 404."""
    return owned_or_404(
        select(Checkout).where(Checkout.reference == reference,
                               Checkout.buyer_id == current_user.id)
        .options(selectinload(Checkout.orders).selectinload(Order.items),
                 selectinload(Checkout.orders).selectinload(Order.store)))


@operation(bp, "/checkouts/<reference>", "GET", tag=TAG_CHECKOUT,
           summary="A placed checkout: its orders and payment", response=CheckoutOut,
           roles=CUSTOMER)
def checkout_get(reference: str):
    """404: not the caller's checkout."""
    return checkout_out(_checkout_of(reference_or_404(reference)))

