"""The external rate source against a faithful fake over real HTTP: its prices when it
answers, the rate table when it times out, errs or answers nonsense (logged, never a 500),
and its manifest kept as the order's shipping events by the tracking job."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from app.orders.models import Order
from app.shipping.models import Shipment, ShipmentEvent
from app.shipping.rates import aggregator_cooldown_reset, rates_quote, rates_seed
from tests.shipping.fake_aggregator import FakeAggregator
from tests.shipping.helpers import courier_order


@pytest.fixture
def aggregator(app):
    aggregator_cooldown_reset()
    with FakeAggregator() as fake:
        saved = {k: app.config[k] for k in ("SHIPPING_API_URL", "SHIPPING_API_KEY",
                                            "SHIPPING_API_TIMEOUT")}
        app.config.update(SHIPPING_API_URL=fake.url, SHIPPING_API_KEY=fake.key,
                          SHIPPING_API_TIMEOUT=0.5)
        yield fake
        app.config.update(saved)
    aggregator_cooldown_reset()


def _quote(**kw):
    return rates_quote(origin="Bandung", destination="Medan", grams=1500,
                       services=["jne:REG", "jne:YES", "sicepat:REG"], **kw)


def test_configured_aggregator_prices_the_services(db, aggregator):
    quotes = _quote()
    assert [(q.service, q.cost, q.etd, q.source) for q in quotes] == [
        ("sicepat:REG", 21_000, "2-3", "aggregator"), ("jne:REG", 22_000, "2-3", "aggregator"),
        ("jne:YES", 38_000, "1-1", "aggregator")]
    path, form = aggregator.requests[-1]
    assert path == "/cost"
    assert form == {"origin": "Bandung", "destination": "Medan", "weight": "1500",
                    "courier": "jne:sicepat"}


@pytest.mark.parametrize("mode", ["slow", "error", "garbage", "wrong_shape"])
def test_failing_aggregator_falls_back_to_the_table_and_logs(db, aggregator, caplog, mode):
    rates_seed()
    aggregator.mode = mode
    with caplog.at_level(logging.WARNING, logger="app.shipping.rates"):
        quotes = _quote()
    assert quotes and {q.source for q in quotes} == {"table"}
    assert "shipping rate API failed" in caplog.text
    assert aggregator.key not in caplog.text  # the key is never logged


def test_after_a_failure_the_aggregator_rests_so_a_page_waits_once(db, aggregator):
    rates_seed()
    aggregator.mode = "slow"
    for _ in range(3):  # three stores of one checkout
        assert {q.source for q in _quote()} == {"table"}
    assert len([p for p, _form in aggregator.requests if p == "/cost"]) == 1
    aggregator.mode = "ok"
    assert {q.source for q in _quote()} == {"table"}  # still resting
    aggregator_cooldown_reset()  # a minute later
    assert {q.source for q in _quote()} == {"aggregator"}


def test_wrong_key_falls_back_to_the_table(db, app, aggregator):
    rates_seed()
    app.config["SHIPPING_API_KEY"] = "not-the-key"
    assert {q.source for q in _quote()} == {"table"}


def test_checkout_page_survives_a_slow_aggregator(db, client, login_as, aggregator):
    from tests.shipping.helpers import buyer_with_cart, courier_store

    rates_seed()
    aggregator.mode = "slow"
    _seller, product = courier_store()
    buyer = buyer_with_cart(product)
    db.session.commit()
    login_as(buyer)
    response = client.get("/checkout")
    assert response.status_code == 200
    assert "JNE REG" in response.get_data(as_text=True)


def test_tracking_job_keeps_the_manifest_once(db, app, aggregator, client, login_as,
                                              make_client):
    from jobs.shipping import track

    seller, buyer, order = courier_order(service="jne:REG")
    seller_client = make_client()
    login_as(seller, seller_client)
    response = seller_client.post(f"/seller/pesanan/{order.number}/lanjut",
                                  data={"dari": "processing",
                                        "tracking_number": "CGK1234567890"})
    assert response.status_code == 303  # the job queued after commit ran in-process
    assert track(order.id) == {"added": 0}  # run again: nothing new, nothing twice
    db.session.commit()
    waybills = [form for path, form in aggregator.requests if path == "/waybill"]
    assert waybills[-1] == {"waybill": "CGK1234567890", "courier": "jne"}
    events = db.session.scalars(select(ShipmentEvent).order_by(ShipmentEvent.occurred_at))
    assert [(e.description, e.location) for e in events] == [
        ("Manifested", "BANDUNG"), ("On Transit", "JAKARTA")]
    shipment = db.session.scalars(select(Shipment)).one()
    assert shipment.tracked_at is not None
    login_as(buyer)
    page = client.get(f"/pesanan/{order.number}").get_data(as_text=True)
    assert "On Transit" in page and "JAKARTA" in page
    assert db.session.get(Order, order.id).tracking_number == "CGK1234567890"


def test_tracking_job_raises_when_the_api_fails_so_rq_retries(db, aggregator):
    from app.shipping.rates import RateSourceError
    from jobs.shipping import track

    _seller, _buyer, order = courier_order(service="jne:REG")
    order = db.session.get(Order, order.id)
    order.tracking_number = "CGK1234567890"
    db.session.commit()
    aggregator.mode = "error"
    with pytest.raises(RateSourceError):
        track(order.id)


def test_hourly_sweep_follows_parcels_on_the_way_only(db, app, aggregator):
    from datetime import timedelta

    from app.core.clock import utcnow
    from app.orders.lifecycle import order_advance
    from jobs.shipping import sweep

    seller, _buyer, order = courier_order(service="jne:REG")
    order_advance(order=order, actor=seller, from_status="processing",
                  tracking_number="CGK1234567890")
    db.session.commit()  # the ship-time job fetched it just now
    assert sweep() == {"queued": 0}
    shipment = db.session.scalars(select(Shipment)).one()
    shipment.tracked_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    assert sweep() == {"queued": 1}
    db.session.commit()  # the queued job runs in-process after commit
    db.session.expire_all()
    assert db.session.scalars(select(Shipment)).one().tracked_at > utcnow() - \
        timedelta(minutes=5)
    app.config["SHIPPING_API_KEY"] = ""
    assert sweep() == {"queued": 0}  # no aggregator: nothing to ask
