"""The cart: a buyer's lines (variant + quantity), grouped by store when shown.

Writes (`cart_add`, `cart_set_quantity`, `cart_remove`) flush, never commit. A quantity
above the available stock is capped to the stock with a message; a line whose product was
archived, whose variant was removed, or that is sold out (or short) since it was added is
flagged by `cart_view` and blocks checkout until the buyer fixes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum

from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.accounts.models import Store, User
from app.catalog.models import Product, Variant
from app.extensions import db
from app.orders.models import CartItem
from app.shipping.services import stores_with_couriers

log = logging.getLogger(__name__)

MAX_LINE_QUANTITY = 999  # per cart line; more is a typo or a wholesale deal
MAX_CART_LINES = 100


class CartErrorCode(StrEnum):
    """Which cart rule refused a change (the API's error code)."""

    CART_REFUSED = "cart_refused"  # none of the rules below
    QUANTITY_INVALID = "quantity_invalid"
    UNAVAILABLE = "unavailable"
    OWN_PRODUCT = "own_product"
    OUT_OF_STOCK = "out_of_stock"
    CART_FULL = "cart_full"
    WITHDRAWN = "withdrawn"


class CartError(Exception):
    """The cart change was refused; `message` says why in the user's language, `code` says
    which rule refused it (for the API)."""

    def __init__(self, message: object, *, code: CartErrorCode = CartErrorCode.CART_REFUSED):
        super().__init__(str(message))
        self.message = str(message)
        self.code = code


@dataclass
class CartChange:
    item: CartItem
    notice: str = ""  # e.g. the quantity was capped to the stock


@dataclass
class CartLine:
    item: CartItem
    variant: Variant
    product: Product
    problem: str = ""  # non-empty: this line blocks checkout

    @property
    def withdrawn(self) -> bool:
        """The product was archived or this option combination removed."""
        return not self.product.active or not self.variant.active

    @property
    def line_total(self) -> int:
        return self.variant.price * self.item.quantity


@dataclass
class StoreGroup:
    store: Store
    lines: list[CartLine] = field(default_factory=list)
    # The store ships with couriers the buyer picks at checkout (app.shipping): the cart
    # cannot know that cost yet, so it counts none for this store.
    by_courier: bool = False

    @property
    def flat_shipping(self) -> int:
        return 0 if self.by_courier else self.store.shipping_cost

    @property
    def subtotal(self) -> int:
        return sum(line.line_total for line in self.lines)

    @property
    def units(self) -> int:
        return sum(line.item.quantity for line in self.lines)


@dataclass
class CartView:
    groups: list[StoreGroup]

    @property
    def lines(self) -> list[CartLine]:
        return [line for group in self.groups for line in group.lines]

    @property
    def subtotal(self) -> int:
        return sum(group.subtotal for group in self.groups)

    @property
    def shipping_total(self) -> int:
        return sum(group.flat_shipping for group in self.groups)

    @property
    def total(self) -> int:
        return self.subtotal + self.shipping_total

    @property
    def units(self) -> int:
        return sum(group.units for group in self.groups)

    @property
    def blocked(self) -> bool:
        return any(line.problem for line in self.lines)

    @property
    def empty(self) -> bool:
        return not self.groups


def line_problem(variant: Variant, product: Product, quantity: int) -> str:
    """Why a line cannot be checked out as it is ("" when it can)."""
    if not product.active or not variant.active:
        return str(_l("Produk ini tidak dijual lagi. Hapus dari keranjang untuk melanjutkan."))
    if variant.stock <= 0:
        return str(_l("Stok habis. Hapus dari keranjang untuk melanjutkan."))
    if variant.stock < quantity:
        return str(_l("Stok tinggal %(stock)s. Kurangi jumlahnya untuk melanjutkan.",
                      stock=variant.stock))
    return ""


def _purchasable_variant(variant_id: int) -> Variant:
    variant = db.session.execute(
        select(Variant).where(Variant.id == variant_id).options(joinedload(Variant.product))
    ).scalar_one_or_none()
    if variant is None or not variant.active or not variant.product.active:
        raise CartError(_l("Produk ini tidak tersedia."), code=CartErrorCode.UNAVAILABLE)
    return variant


def _check_quantity(quantity: int) -> None:
    if quantity < 1:
        raise CartError(_l("Jumlah minimal 1."), code=CartErrorCode.QUANTITY_INVALID)
    if quantity > MAX_LINE_QUANTITY:
        raise CartError(_l("Jumlah maksimal %(max)s per barang.", max=MAX_LINE_QUANTITY),
                        code=CartErrorCode.QUANTITY_INVALID)


def _capped(variant: Variant, wanted: int) -> tuple[int, str]:
    if variant.stock <= 0:
        raise CartError(_l("Stok habis."), code=CartErrorCode.OUT_OF_STOCK)
    if wanted > variant.stock:
        return variant.stock, str(_l(
            "Stok tersedia hanya %(stock)s; jumlah di keranjang disesuaikan menjadi %(stock)s.",
            stock=variant.stock))
    return wanted, ""


def cart_add(*, user: User, variant_id: int, quantity: int) -> CartChange:
    """Add `quantity` of a variant (added to the line if the variant is already in the
    cart), capped to the stock. Raises CartError for an unavailable or sold-out variant,
    a bad quantity, or a full cart."""
    _check_quantity(quantity)
    variant = _purchasable_variant(variant_id)
    if variant.store_id == (user.store.id if user.store else None):
        raise CartError(_l("Anda tidak dapat membeli produk dari toko Anda sendiri."),
                        code=CartErrorCode.OWN_PRODUCT)
    item = db.session.scalars(select(CartItem).where(
        CartItem.user_id == user.id, CartItem.variant_id == variant.id)).first()
    if item is None:
        lines = db.session.scalar(select(func.count(CartItem.id))
                                  .where(CartItem.user_id == user.id)) or 0
        if lines >= MAX_CART_LINES:
            raise CartError(_l("Keranjang penuh (maksimal %(max)s barang). Selesaikan "
                               "pembelian dulu.", max=MAX_CART_LINES), code=CartErrorCode.CART_FULL)
        wanted, notice = _capped(variant, quantity)
        item = CartItem(user_id=user.id, variant_id=variant.id, quantity=wanted)
        try:
            with db.session.begin_nested():  # two tabs adding the same variant at once
                db.session.add(item)
        except IntegrityError:
            item = db.session.scalars(select(CartItem).where(
                CartItem.user_id == user.id, CartItem.variant_id == variant.id)).one()
            return _set(item, variant, min(item.quantity + quantity, MAX_LINE_QUANTITY))
        return CartChange(item, notice)
    return _set(item, variant, min(item.quantity + quantity, MAX_LINE_QUANTITY))


def _set(item: CartItem, variant: Variant, wanted: int) -> CartChange:
    quantity, notice = _capped(variant, wanted)
    item.quantity = quantity
    db.session.flush()
    return CartChange(item, notice)


def cart_item_owned(*, user: User, item_id: int) -> CartItem | None:
    """The user's cart line, or None (another user's line is "not found")."""
    return db.session.scalars(select(CartItem).where(
        CartItem.id == item_id, CartItem.user_id == user.id)).first()


def cart_set_quantity(*, item: CartItem, quantity: int) -> CartChange:
    """Set a line's quantity (capped to the stock). Raises CartError for a bad quantity or
    a line that can no longer be bought (it must be removed instead)."""
    _check_quantity(quantity)
    variant = item.variant
    if not variant.active or not variant.product.active:
        raise CartError(_l("Produk ini tidak dijual lagi. Hapus dari keranjang."),
                        code=CartErrorCode.WITHDRAWN)
    return _set(item, variant, quantity)


def cart_remove(*, item: CartItem) -> None:
    db.session.delete(item)
    db.session.flush()


def cart_clear(*, user: User, item_ids: list[int]) -> None:
    db.session.execute(delete(CartItem).where(CartItem.user_id == user.id,
                                              CartItem.id.in_(item_ids)))


def cart_view(user_id: int) -> CartView:
    """The user's cart, grouped by store (in the order stores were first added to)."""
    items = db.session.scalars(
        select(CartItem).where(CartItem.user_id == user_id)
        .options(joinedload(CartItem.variant).joinedload(Variant.product)
                 .joinedload(Product.store))
        .order_by(CartItem.created_at, CartItem.id)
    ).all()
    groups: dict[int, StoreGroup] = {}
    for item in items:
        variant = item.variant
        product = variant.product
        group = groups.setdefault(product.store_id, StoreGroup(store=product.store))
        group.lines.append(CartLine(item=item, variant=variant, product=product,
                                    problem=line_problem(variant, product, item.quantity)))
    for store_id in stores_with_couriers(list(groups)):
        groups[store_id].by_courier = True
    return CartView(groups=list(groups.values()))


def cart_count(user_id: int) -> int:
    """Lines in the cart (the badge in the top bar)."""
    return db.session.scalar(select(func.count(CartItem.id))
                             .where(CartItem.user_id == user_id)) or 0


def cart_badge(user: User) -> int:
    return cart_count(user.id)
