"""Demo shipping (called at the end of `app.demo.demo_load`; idempotent, flushes only): the
default rate table, couriers for every store that has none, and packed weights for the
demo variants still at the 250 g default."""

from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import Store
from app.catalog.models import Product, Variant
from app.extensions import db
from app.shipping.models import StoreCourier
from app.shipping.rates import rates_seed

# Couriers by store position: the first store (Glow Nusantara, Bandung) also sends GoSend.
_COURIER_SETS = (
    ("jne:REG", "jne:YES", "sicepat:REG", "gosend:SAMEDAY"),
    ("jne:REG", "jnt:EZ", "sicepat:REG", "anteraja:REG"),
    ("jne:REG", "sicepat:REG", "sicepat:BEST", "gosend:SAMEDAY"),
)
# Packed weights by a word of the product's name (grams); others weigh 200 g.
_WEIGHTS = (("botol", 650), ("jamu", 650), ("minyak", 300), ("shampo", 450),
            ("sabun", 150), ("lipstik", 60), ("lip", 60), ("sunscreen", 180),
            ("serum", 150), ("toner", 300), ("masker", 250), ("krim", 120))
_DEFAULT = 250
FLAT_COST_STORE = "Rina Beauty"


def demo_weight(name: str) -> int:
    lowered = name.lower()
    return next((grams for word, grams in _WEIGHTS if word in lowered), 200)


def demo_shipping() -> None:
    rates_seed()
    stores = db.session.scalars(select(Store).order_by(Store.id)).all()
    offering = set(db.session.scalars(select(StoreCourier.store_id).distinct()))
    for position, store in enumerate(stores):
        # Rina Beauty stays a flat-cost store: the demo of a store without couriers.
        if store.id in offering or store.name == FLAT_COST_STORE:
            continue
        for service in _COURIER_SETS[position % len(_COURIER_SETS)]:
            db.session.add(StoreCourier(store_id=store.id, service=service))
    rows = db.session.execute(select(Variant, Product.name).join(
        Product, Product.id == Variant.product_id).where(Variant.weight_grams == _DEFAULT))
    for variant, name in rows:
        variant.weight_grams = demo_weight(name)
    db.session.flush()
