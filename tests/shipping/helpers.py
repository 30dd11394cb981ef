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
