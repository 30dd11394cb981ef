"""Helpers for the shipping tests: a store with couriers, a buyer with a cart."""

from __future__ import annotations

from app.extensions import db
from app.orders.cart import cart_add
from app.shipping.models import StoreCourier
from app.shipping.rates import rates_seed
from tests.factories import make_address, make_product, make_user


def courier_store(*, name: str = "Toko Kurir", city: str = "Bandung",
                  services: tuple[str, ...] = ("jne:REG", "sicepat:REG", "gosend:SAMEDAY"),
                  price: int = 50_000, weight: int = 400, stock: int = 20):
    """A seller in `city` offering `services`, with one product of `weight` grams."""
    seller = make_user(roles=("seller",), store_name=name)
    seller.store.location = city
    seller.store.shipping_cost = 7_000  # the flat cost: ignored once couriers are chosen
    for service in services:
        db.session.add(StoreCourier(store_id=seller.store.id, service=service))
    product = make_product(store=seller.store, name=f"Serum {name}", price=price, stock=stock)
    product.variants[0].weight_grams = weight
    db.session.flush()
    return seller, product


def buyer_with_cart(product, *, quantity: int = 1, city: str = "Bandung"):
    buyer = make_user()
    make_address(user=buyer, city=city)
    cart_add(user=buyer, variant_id=product.variants[0].id, quantity=quantity)
    return buyer


def seeded() -> None:
    rates_seed()


def courier_order(*, service: str = "jne:REG", paid: bool = True, buyer_city: str = "Bandung"):
    """A placed (and paid, processing) order of a courier store, committed.
    Returns (seller, buyer, order)."""
    from sqlalchemy import select

    from app.accounts.models import Address
    from app.orders.checkout import checkout_place, new_idempotency_key
    from app.orders.lifecycle import order_advance
    from tests.factories import pay_checkout

    rates_seed()
    seller, product = courier_store(services=(service,))
    buyer = buyer_with_cart(product, quantity=2, city=buyer_city)
    address = db.session.scalars(select(Address).where(Address.user_id == buyer.id)).one()
    result = checkout_place(buyer=buyer, address=address, payment_method="va_bca",
                            idempotency_key=new_idempotency_key(),
                            couriers={seller.store.id: service})
    db.session.commit()
    order = result.orders[0]
    if paid:
        pay_checkout(result.checkout)
        db.session.refresh(order)
        order_advance(order=order, actor=seller, from_status="pending")
        db.session.commit()
    return seller, buyer, order
