"""Shared arrangements for the order lifecycle, order pages and returns tests."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.core.models import EmailOutbox
from app.extensions import db
from app.inventory.models import StockMovement
from app.orders.lifecycle import order_advance, order_confirm
from app.orders.models import Order, OrderEvent, OrderStatus
from tests.factories import make_order, make_product, make_user


@dataclass
class Shop:
    seller_email: str
    buyer_email: str
    seller_id: int
    buyer_id: int
    store_id: int
    variant_id: int
    product_id: int


def make_shop(*, stock: int = 20, price: int = 150_000, buyer_locale: str = "id") -> Shop:
    """A seller with one product and a buyer (committed)."""
    seller = make_user(roles=("seller",), store_name="Toko Glow")
    buyer = make_user(name="Budi Pembeli", locale=buyer_locale)
    product = make_product(store=seller.store, name="Serum Niacinamide", stock=stock,
                           price=price)
    db.session.commit()
    return Shop(seller_email=seller.email, buyer_email=buyer.email, seller_id=seller.id,
                buyer_id=buyer.id, store_id=seller.store.id,
                variant_id=product.variants[0].id, product_id=product.id)


def place_order(shop: Shop, quantity: int = 1, buyer_id: int | None = None,
                paid: bool = True) -> str:
    """One order of the shop's product, paid through the sandbox unless `paid` is False;
    returns its number (committed)."""
    from app.accounts.models import User
    from app.catalog.models import Variant

    buyer = db.session.get(User, buyer_id or shop.buyer_id)
    variant = db.session.get(Variant, shop.variant_id)
    order = make_order(buyer=buyer, variant=variant, quantity=quantity, paid=paid)
    db.session.commit()
    return order.number


def get_order(number: str) -> Order:
    db.session.expire_all()
    return db.session.scalars(select(Order).where(Order.number == number)).one()


def move_to(number: str, status: str) -> Order:
    """Walk an order forward through the real services (seller, then buyer), committed."""
    from app.accounts.models import User

    order = get_order(number)
    seller = db.session.get(User, order.store.owner_id)
    path = [OrderStatus.PENDING, OrderStatus.PROCESSING, OrderStatus.SHIPPED,
            OrderStatus.DELIVERED]
    while path.index(order.status) < path.index(status):
        if order.status == OrderStatus.SHIPPED:
            order_confirm(order=order, actor=order.buyer)
        else:
            order_advance(order=order, actor=seller, from_status=order.status)
    db.session.commit()
    return get_order(number)


def snapshot(number: str) -> dict:
    """What an illegal action must leave untouched."""
    order = get_order(number)
    return {
        "status": order.status,
        "events": db.session.scalar(select(func.count(OrderEvent.id)).where(
            OrderEvent.order_id == order.id)),
        "movements": db.session.scalar(select(func.count(StockMovement.id))),
        "emails": db.session.scalar(select(func.count(EmailOutbox.id))),
        "tracking": order.tracking_number,
        "stamps": (order.processing_at, order.shipped_at, order.delivered_at,
                   order.cancelled_at, order.returned_at),
    }


def emails(template: str) -> list[EmailOutbox]:
    db.session.expire_all()
    return list(db.session.scalars(select(EmailOutbox).where(EmailOutbox.template == template)
                                   .order_by(EmailOutbox.id)))
