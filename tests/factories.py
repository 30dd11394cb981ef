"""Object factories for tests. They add and flush; the test commits when it needs to."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from app.accounts.models import Address, Store, User
from app.accounts.passwords import password_hash
from app.accounts.services import role_get, store_create
from app.catalog.models import Category, Product, Variant
from app.catalog.services import OptionGroup, ProductData, category_create, product_create
from app.extensions import db
from app.orders.cart import cart_add, cart_view
from app.orders.checkout import checkout_place, new_idempotency_key
from app.orders.models import Checkout, Order
from app.payments.gateways.sandbox import sandbox_simulate
from app.payments.services import payment_charge, payment_of_checkout
from app.shipping.services import shipping_plan

DEFAULT_PASSWORD = "kopi-susu-gula-aren-42"  # passes the password policy
_sequence = itertools.count(1)


def make_user(
    *,
    email: str | None = None,
    name: str | None = None,
    roles: tuple[str, ...] = ("customer",),
    password: str = DEFAULT_PASSWORD,
    locale: str = "id",
    store_name: str | None = None,
) -> User:
    n = next(_sequence)
    user = User(
        email=email or f"user{n}@example.test",
        name=name or f"Pengguna {n}",
        password_hash=password_hash(password),
        locale=locale,
        roles=[role_get(role) for role in roles],
    )
    db.session.add(user)
    db.session.flush()
    if "seller" in roles or store_name:
        store_create(owner=user, name=store_name or f"Toko {n}", location="Bandung")
    return user


def make_category(*, name: str = "Perawatan Wajah", name_en: str = "Skincare",
                  parent: Category | None = None) -> Category:
    return category_create(name=name, name_en=name_en, parent_id=parent.id if parent else None)


def make_product(
    *,
    store: Store,
    name: str = "Serum Vitamin C",
    price: int = 150_000,
    stock: int = 20,
    category: Category | None = None,
    description: str = "",
    options: dict[str, list[str]] | None = None,
    actor: User | None = None,
) -> Product:
    """A product through the real service (variants, ledger rows and caches included)."""
    if category is None:
        category = db.session.scalars(select(Category).limit(1)).first() or make_category()
    data = ProductData(
        name=name, description=description, category_id=category.id, price=price,
        option_groups=[OptionGroup(name=k, values=v) for k, v in (options or {}).items()],
        initial_stock=stock,
    )
    return product_create(store=store, data=data, actor=actor or store.owner)


def make_address(*, user: User, city: str = "Bandung", default: bool = True) -> Address:
    address = Address(user_id=user.id, label="Rumah", recipient=user.name, phone="0812345678",
                      street="Jl. Merdeka No. 1", city=city, province="Jawa Barat",
                      postal_code="40111", is_default=default)
    db.session.add(address)
    db.session.flush()
    return address


def make_checkout(*, buyer: User, lines: list[tuple[Variant, int]],
                  payment_method: str = "va_bca") -> Checkout:
    """Put `lines` in the buyer's cart and check out through the real service (one order
    per store, stock taken, ledger written). Flushes; the test commits."""
    for variant, quantity in lines:
        cart_add(user=buyer, variant_id=variant.id, quantity=quantity)
    address = db.session.scalars(select(Address).where(
        Address.user_id == buyer.id, Address.is_default.is_(True))).first()
    if address is None:
        address = make_address(user=buyer)
    # A store that sends by courier (app/shipping) gets its cheapest service, as the
    # checkout page preselects it.
    plan = shipping_plan(cart_view(buyer.id), destination_city=address.city)
    couriers = {store_id: entry.chosen.service for store_id, entry in plan.stores.items()
                if not entry.flat and entry.chosen is not None}
    return checkout_place(buyer=buyer, address=address, payment_method=payment_method,
                          idempotency_key=new_idempotency_key(),
                          couriers=couriers or None).checkout


def make_order(*, buyer: User, variant: Variant, quantity: int = 1,
               paid: bool = False) -> Order:
    """One order of one line (a checkout with a single store); `paid` pays it (commits)."""
    checkout = make_checkout(buyer=buyer, lines=[(variant, quantity)])
    if paid:
        pay_checkout(checkout)
    return checkout.orders[0]


def pay_checkout(checkout: Checkout, *, amount: int | None = None, twice: bool = False,
                 out_of_order: bool = False) -> None:
    """Pay like a buyer would, through the sandbox gateway: charge, press "pay" on the
    simulator; its signed notification reaches the webhook after the commit this makes
    (the jobs run in the test's thread). `amount` pays a different amount."""
    payment = payment_of_checkout(checkout.id)
    payment_charge(payment)
    sandbox_simulate(reference=payment.reference, action="pay", amount=amount, twice=twice,
                     out_of_order=out_of_order)
    db.session.commit()
