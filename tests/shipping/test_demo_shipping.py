"""Demo shipping: every store gets couriers once (a seller's own choice is kept), the rate
table is seeded, variants at the default weight get a packed weight; twice changes nothing."""

from __future__ import annotations

from sqlalchemy import func, select

from app.shipping.demo import demo_shipping
from app.shipping.models import ShippingRate, StoreCourier
from tests.factories import make_product, make_user


def test_demo_shipping_is_idempotent_and_keeps_a_stores_own_choice(db):
    first = make_user(roles=("seller",), store_name="Glow")
    second = make_user(roles=("seller",), store_name="Herbal")
    db.session.add(StoreCourier(store_id=second.store.id, service="anteraja:REG"))
    jamu = make_product(store=first.store, name="Jamu Kunyit Asam Botol")
    demo_shipping()
    demo_shipping()
    offered = dict(db.session.execute(
        select(StoreCourier.store_id, func.count(StoreCourier.id))
        .group_by(StoreCourier.store_id)).all())
    assert offered == {first.store.id: 4, second.store.id: 1}
    assert jamu.variants[0].weight_grams == 650
    assert db.session.scalar(select(func.count(ShippingRate.id))) > 400
