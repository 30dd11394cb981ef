"""Checkout: one press of "Bayar" turns the cart into one `Checkout` and one `Order` per
store, all in the caller's transaction (the route commits once, or rolls back everything).

`checkout_place`:
1. returns the existing checkout when the form's idempotency key was used before (double
   click, two tabs, a retry after a timeout): one checkout, never two;
2. refuses an empty cart, a line no longer sold (archived product, removed variant), a
   bad address or payment method;
3. creates the checkout and the orders with their item snapshots (name, options, SKU,
   unit price), numbered `RCK-<WIB date>-<id>` and `CO-<WIB date>-<id>`;
4. records the "created" status event, empties the cart, creates the pending `Payment`
   (charged at the gateway by the route after commit), and queues the buyer's
   confirmation and each seller's new-order email;
5. last (so row locks are held briefly), takes the stock with `stock_change(reason=
   "sale")`: a conditional UPDATE per variant, in (product, variant) id order so concurrent
   checkouts lock rows in one order and never deadlock; a line that lost the race is
   collected, and when any is short the whole checkout fails with
   `CheckoutError(short=[...])` for the route to roll back; then counts the units sold.

Lines the stock visibly cannot cover are refused before anything is written (cheap for the
many losers after a sell-out); the conditional UPDATEs remain the rule.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update

from app.accounts.models import Address, User
from app.catalog.models import Product
from app.catalog.stock import StockError, stock_change
from app.core.clock import to_wib, utcnow
from app.core.db import add_once
from app.core.http import app_path, public_url
from app.core.mail import mail_queue
from app.core.money import format_rupiah
from app.core.notices import N_, notice_kind, notice_send
from app.extensions import db
from app.inventory.models import StockReason
from app.orders.cart import CartLine, cart_clear, cart_view
from app.orders.models import (
    Checkout,
    Order,
    OrderEvent,
    OrderItem,
    OrderStatus,
    PaymentStatus,
)
from app.payments.method_choice import PAYMENT_METHODS
from app.payments.services import payment_create, payment_method_refusal
from app.shipping.services import shipment_record, shipping_plan

log = logging.getLogger(__name__)

NEW_ORDER_NOTICE = "new_order"
notice_kind(NEW_ORDER_NOTICE, N_("Pesanan baru %(number)s: %(units)s barang, %(total)s."))

SHORT_MESSAGE = _l("Stok tidak cukup untuk sebagian barang. Tidak ada yang dibeli; "
                   "keranjang Anda tetap utuh.")
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9-]{16,64}$")


@dataclass
class ShortLine:
    """A cart line the stock could not cover when "Bayar" was pressed."""

    item_id: int
    product_name: str
    options_label: str
    wanted: int
    available: int


class CheckoutErrorCode(StrEnum):
    """The rule that refused a checkout, as the API names it."""

    FORM_EXPIRED = "form_expired"
    ADDRESS_INVALID = "address_invalid"
    PAYMENT_METHOD_INVALID = "payment_method_invalid"
    CART_EMPTY = "cart_empty"
    CART_BLOCKED = "cart_blocked"
    OUT_OF_STOCK = "out_of_stock"
    COURIER_REQUIRED = "courier_required"
    COURIER_UNAVAILABLE = "courier_unavailable"
    ADDRESS_REQUIRED = "address_required"
    CHECKOUT_REFUSED = "checkout_refused"


class CheckoutError(Exception):
    """The checkout was refused; nothing may be committed. `short` lists the lines whose
    stock ran out (a lost race), `field` names the form field a message belongs to, `code`
    the rule that refused it (for the API, a CheckoutErrorCode; given as its text, e.g.
    a shipping problem's code)."""

    def __init__(self, message: object, *, short: list[ShortLine] | None = None,
                 field: str = "", code: str = ""):
        super().__init__(str(message))
        self.message = str(message)
        self.short = short or []
        self.field = field
        fallback = (CheckoutErrorCode.OUT_OF_STOCK if self.short
                    else CheckoutErrorCode.CHECKOUT_REFUSED)
        self.code = CheckoutErrorCode(code) if code in set(CheckoutErrorCode) else fallback


@dataclass
class CheckoutResult:
    checkout: Checkout
    replayed: bool = False  # True: the idempotency key was used before; nothing new
    orders: list[Order] = field(default_factory=list)


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


def checkout_by_key(buyer_id: int, key: str) -> Checkout | None:
    return db.session.scalars(select(Checkout).where(
        Checkout.buyer_id == buyer_id, Checkout.idempotency_key == key)).first()


def _stamp(prefix: str, row_id: int) -> str:
    return f"{prefix}-{to_wib(utcnow()):%Y%m%d}-{row_id:06d}"


def checkout_place(*, buyer: User, address: Address | None, payment_method: str,
                   idempotency_key: str, notes: dict[int, str] | None = None,
                   couriers: dict[int, str] | None = None) -> CheckoutResult:
    """Place the buyer's cart as one checkout with one order per store (see the module
    docstring). `couriers` is the service chosen per store id (app.shipping): its cost is
    computed here, never taken from the client. Raises CheckoutError; the caller must then
    roll back."""
    if not IDEMPOTENCY_KEY.match(idempotency_key or ""):
        raise CheckoutError(_l("Formulir kedaluwarsa. Muat ulang halaman lalu tekan Bayar "
                               "lagi."), code="form_expired")
    existing = checkout_by_key(buyer.id, idempotency_key)
    if existing is not None:
        return CheckoutResult(existing, replayed=True, orders=list(existing.orders))
    if address is None or address.user_id != buyer.id:
        raise CheckoutError(_l("Pilih alamat pengiriman."), field="address_id",
                            code="address_invalid")
    if payment_method not in PAYMENT_METHODS:
        raise CheckoutError(_l("Pilih metode pembayaran."), field="payment_method",
                            code="payment_method_invalid")
    cart = cart_view(buyer.id)
    if cart.empty:
        raise CheckoutError(_l("Keranjang Anda kosong."), code="cart_empty")
    if any(line.withdrawn for line in cart.lines):
        raise CheckoutError(_l("Ada barang di keranjang yang tidak dijual lagi. Hapus dari "
                               "keranjang untuk melanjutkan."), code="cart_blocked")
    # Refuse early, cheaply and without a lock, what the stock already cannot cover (after a
    # sell-out most buyers land here). The conditional UPDATEs below stay the truth: the
    # stock may still change in between, and they report short lines the same way.
    short = [_short(line, line.variant.stock) for line in cart.lines
             if line.variant.stock < line.item.quantity]
    if short:
        raise CheckoutError(SHORT_MESSAGE, short=short)
    plan = shipping_plan(cart, destination_city=address.city, choices=couriers, strict=True)
    if plan.problems:
        refused = plan.problems[0]
        raise CheckoutError(refused.problem, field=f"courier-{refused.store.id}",
                            code=refused.problem_code)
    refusal = payment_method_refusal(payment_method, cart.subtotal + plan.total)
    if refusal:  # a retail outlet's cashier takes at most PAYMENT_CSTORE_MAX_AMOUNT
        raise CheckoutError(refusal, field="payment_method", code="payment_method_invalid")
    checkout = Checkout(
        reference=f"tmp-{uuid.uuid4().hex}", buyer_id=buyer.id,
        idempotency_key=idempotency_key, payment_method=payment_method,
        payment_status=PaymentStatus.UNPAID, subtotal=cart.subtotal,
        shipping_total=plan.total, total=cart.subtotal + plan.total,
    )
    checkout, created = add_once(checkout, lambda: checkout_by_key(buyer.id, idempotency_key))
    if not created:  # the same form, placed by a concurrent request that committed first
        return CheckoutResult(checkout, replayed=True, orders=list(checkout.orders))
    checkout.reference = _stamp("CO", checkout.id)

    shipping = address.snapshot()
    orders: list[Order] = []
    order_of_line: dict[int, Order] = {}
    for group in cart.groups:
        shipping_cost = plan.of(group).cost
        order = Order(
            number=f"tmp-{uuid.uuid4().hex}", checkout_id=checkout.id,
            store_id=group.store.id, buyer_id=buyer.id, status=OrderStatus.PENDING,
            payment_status=PaymentStatus.UNPAID, subtotal=group.subtotal,
            shipping_cost=shipping_cost,
            total=group.subtotal + shipping_cost, item_count=group.units,
            shipping_address=shipping, note=((notes or {}).get(group.store.id) or "")[:300],
        )
        db.session.add(order)
        for line in group.lines:
            order.items.append(OrderItem(
                variant_id=line.variant.id, product_id=line.product.id,
                product_name=line.product.name, options=dict(line.variant.options),
                sku=line.variant.sku, unit_price=line.variant.price,
                quantity=line.item.quantity, line_total=line.line_total,
            ))
            order_of_line[line.item.id] = order
        orders.append(order)
    db.session.flush()
    for group, order in zip(cart.groups, orders, strict=True):
        order.number = _stamp("RCK", order.id)
        shipment_record(order_id=order.id, entry=plan.of(group))
        db.session.add(OrderEvent(order_id=order.id, from_status=None,
                                  to_status=OrderStatus.PENDING, actor_id=buyer.id))

    cart_clear(user=buyer, item_ids=[line.item.id for line in cart.lines])
    payment_create(reference=checkout.reference, payer_id=checkout.buyer_id,
                   method=checkout.payment_method, amount=checkout.total,
                   checkout_id=checkout.id)
    db.session.flush()
    _announce(checkout, orders, buyer)
    # Last, so the row locks it takes on PostgreSQL are held only until the commit that
    # follows: hot products serialise on these locks, not on rendering emails.
    _take_stock(cart.lines, order_of_line, buyer)
    log.info("checkout %s placed: %s orders, total %s", checkout.reference, len(orders),
             checkout.total)
    return CheckoutResult(checkout, orders=orders)


def _short(line: CartLine, available: int) -> ShortLine:
    return ShortLine(item_id=line.item.id, product_name=line.product.name,
                     options_label=line.variant.label, wanted=line.item.quantity,
                     available=max(available, 0))


def _take_stock(lines: list[CartLine], order_of_line: dict[int, Order], buyer: User) -> None:
    short: list[ShortLine] = []
    sold: dict[int, int] = defaultdict(int)
    for line in sorted(lines, key=lambda ln: (ln.product.id, ln.variant.id)):
        try:
            stock_change(variant=line.variant, delta=-line.item.quantity,
                         reason=StockReason.SALE, actor=buyer,
                         reference=order_of_line[line.item.id].number)
        except StockError as error:
            short.append(_short(line, error.current or 0))
            continue
        sold[line.product.id] += line.item.quantity
    if short:
        raise CheckoutError(SHORT_MESSAGE, short=short)
    for product_id, units in sorted(sold.items()):
        db.session.execute(update(Product).where(Product.id == product_id)
                           .values(sold_count=Product.sold_count + units)
                           .execution_options(synchronize_session=False))


def _announce(checkout: Checkout, orders: list[Order], buyer: User) -> None:
    """The buyer's confirmation and each seller's new-order notice (sent after commit; email
    and Telegram as the seller chose)."""
    from app.notifications.prefs import Channel, Kind, notification_wanted
    from app.notifications.telegram import telegram_queue

    mail_queue(to=buyer.email, template="order_confirmation", locale=buyer.locale,
               subject=_l("Pesanan Anda diterima: %(reference)s",
                          reference=checkout.reference),
               name=buyer.name, checkout=checkout, orders=orders,
               link=public_url("orders.checkout_detail", reference=checkout.reference))
    for order in orders:
        owner = order.store.owner
        params = {"number": order.number, "units": order.item_count,
                  "total": format_rupiah(order.total)}
        notice_send(user_id=owner.id, kind=NEW_ORDER_NOTICE, params=params,
                    link=app_path("orders.seller_order", number=order.number))
        link = public_url("orders.seller_order", number=order.number)
        if notification_wanted(owner.id, Kind.ORDER_NEW, Channel.EMAIL):
            mail_queue(to=owner.email, template="order_new_seller", locale=owner.locale,
                       subject=_l("Pesanan baru %(number)s", number=order.number),
                       name=owner.name, order=order, store=order.store, link=link)
        telegram_queue(user=owner, kind=Kind.ORDER_NEW, event_key=f"order:{order.id}",
                       template="order_new_seller", order=order, store=order.store,
                       total=params["total"], link=link)
