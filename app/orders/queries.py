"""Order reads: the buyer's and the seller's order lists, one order by its owner, the
status history, and the seller's count of new orders.

The lists read one page with one query on the (owner, [status,] created_at, id) indexes,
the store or buyer joined in, and the page's items in one more query (no query per row).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload, lazyload, load_only, selectinload

from app.accounts.models import Store, User
from app.catalog.models import Product
from app.core.pagination import Page
from app.extensions import db
from app.orders.models import Checkout, Order, OrderEvent, OrderItem, OrderStatus, PaymentStatus

ORDERS_PER_PAGE = 20
COUNT_AHEAD = 10  # pages counted beyond the current one


def _page(conditions: list, page: int, *extra_options,
          per_page: int = ORDERS_PER_PAGE) -> Page[Order]:
    page = max(1, page)
    # Count no further than COUNT_AHEAD pages past this one: a big store has 100k orders,
    # and counting them all was 40 % of the page (bench/README.md). Past the cap the pager
    # says "page N" and offers "next" without a total.
    cap = (page + COUNT_AHEAD) * per_page
    counted = db.session.scalar(select(func.count()).select_from(
        select(Order.id).where(*conditions).limit(cap + 1).subquery())) or 0
    orders = list(db.session.scalars(
        select(Order).where(*conditions)
        .options(selectinload(Order.items), *extra_options)
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ))
    return Page(items=orders, total=min(counted, cap), page=page, per_page=per_page,
                exact=counted <= cap)


def buyer_orders_page(*, buyer_id: int, status: str | None, page: int,
                      per_page: int = ORDERS_PER_PAGE) -> Page[Order]:
    """The buyer's orders, newest first, optionally of one status (20 per page unless
    `per_page` says otherwise: the API's lists take it)."""
    conditions = [Order.buyer_id == buyer_id]
    if status:
        conditions.append(Order.status == status)
    # The checkout's reference: "Bayar sekarang" links an unpaid order to its payment page.
    # The items' products' photos: the list shows the first three as thumbnails.
    return _page(conditions, page, joinedload(Order.store),
                 selectinload(Order.checkout).load_only(Checkout.reference),
                 selectinload(Order.items).selectinload(OrderItem.product)
                 .load_only(Product.id, Product.cover_key, Product.cover_card_key,
                            Product.cover_mini_key),
                 per_page=per_page)


def seller_orders_page(*, store_id: int, status: str | None, page: int,
                       per_page: int = ORDERS_PER_PAGE) -> Page[Order]:
    """The store's orders, newest first, optionally of one status (20 per page unless
    `per_page` says otherwise)."""
    conditions = [Order.store_id == store_id]
    if status:
        conditions.append(Order.status == status)
    # Only the buyer's name is shown: not their roles, password hash and the rest.
    return _page(conditions, page, joinedload(Order.buyer).options(
        load_only(User.name), lazyload(User.roles)), per_page=per_page)


def buyer_order(buyer_id: int, number: str) -> Select:
    """For `owned_or_404`: the order only if this buyer placed it."""
    return select(Order).where(Order.number == number, Order.buyer_id == buyer_id)


def store_order(store_id: int, number: str) -> Select:
    """For `owned_or_404`: the order only if this store fulfils it."""
    return select(Order).where(Order.number == number, Order.store_id == store_id)


def buyer_order_state(buyer_id: int, number: str) -> tuple[str, datetime] | None:
    """(status, updated_at) of the buyer's order: all the status poll needs to answer 304."""
    row = db.session.execute(
        select(Order.status, Order.updated_at)
        .where(Order.number == number, Order.buyer_id == buyer_id)).first()
    return (row[0], row[1]) if row else None


def order_history(order_id: int) -> list[OrderEvent]:
    """The status changes, oldest first, with who made them."""
    return list(db.session.scalars(
        select(OrderEvent).where(OrderEvent.order_id == order_id)
        .options(joinedload(OrderEvent.actor))
        .order_by(OrderEvent.created_at, OrderEvent.id)))


def seller_new_orders_badge(user: User) -> int:
    """The navigation badge: the seller's store's paid orders waiting to be processed (an
    unpaid order cannot be processed yet)."""
    return db.session.scalar(
        select(func.count(Order.id)).join(Store, Store.id == Order.store_id)
        .where(Store.owner_id == user.id, Order.status == OrderStatus.PENDING,
               Order.payment_status == PaymentStatus.PAID)) or 0
