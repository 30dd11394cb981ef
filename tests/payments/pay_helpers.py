"""Arrangements for the payment page and simulator tests: a store, a buyer with an address,
and a checkout charged through the sandbox gateway (committed)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.accounts.models import User
from app.catalog.models import Variant
from app.extensions import db
from app.orders.models import Checkout, Order
from app.payments.models import Payment, PaymentEvent, SandboxTransaction
from app.payments.services import payment_charge, payment_of_checkout
from tests.factories import make_address, make_checkout, make_product, make_user

PRICE = 150_000
SHIPPING = 15_000


@dataclass
class Shop:
    buyer_email: str
    seller_email: str
    buyer_id: int
    variant_id: int


def make_shop(*, stock: int = 10) -> Shop:
    seller = make_user(roles=("seller",), store_name="Toko Glow")
    seller.store.shipping_cost = SHIPPING
    buyer = make_user(name="Budi Pembeli")
    make_address(user=buyer)
    product = make_product(store=seller.store, name="Serum Niacinamide", price=PRICE,
                           stock=stock)
    db.session.commit()
    return Shop(buyer_email=buyer.email, seller_email=seller.email, buyer_id=buyer.id,
                variant_id=product.variants[0].id)


def place(shop: Shop, method: str = "va_bca", *, quantity: int = 1,
          charge: bool = True) -> str:
    """A checkout of one line paid by `method`, charged at the sandbox unless `charge` is
    False; returns its reference (committed)."""
    buyer = db.session.get(User, shop.buyer_id)
    checkout = make_checkout(buyer=buyer, lines=[(db.session.get(Variant, shop.variant_id),
                                                  quantity)], payment_method=method)
    db.session.commit()
    if charge:
        payment_charge(payment_of_checkout(checkout.id))
        db.session.commit()
    return checkout.reference


def payment_of(reference: str) -> Payment:
    db.session.expire_all()
    return db.session.scalars(select(Payment).where(Payment.reference == reference)).one()


def transaction_of(reference: str) -> SandboxTransaction:
    db.session.expire_all()
    return db.session.scalars(select(SandboxTransaction).where(
        SandboxTransaction.order_id == reference)).one()


def orders_of(reference: str) -> list[Order]:
    db.session.expire_all()
    return list(db.session.scalars(select(Order).join(Checkout).where(
        Checkout.reference == reference).order_by(Order.id)))


def events_of(reference: str) -> list[PaymentEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(PaymentEvent).where(
        PaymentEvent.order_id == reference).order_by(PaymentEvent.id)))


def stock_of(shop: Shop) -> int:
    db.session.expire_all()
    return db.session.scalar(select(Variant.stock).where(Variant.id == shop.variant_id))


def count(column) -> int:
    return db.session.scalar(select(func.count(column))) or 0
