"""The built-in rate table: zones, per-kg rounding up, weight, GoSend within one city."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.shipping.couriers import zone_of
from app.shipping.models import ShippingRate
from app.shipping.rates import billable_kg, default_rates, rates_quote, rates_seed


@pytest.mark.parametrize(("grams", "kg"), [(0, 1), (1, 1), (1000, 1), (1001, 2), (2999, 3),
                                           (3000, 3)])
def test_weight_is_billed_per_started_kilogram_at_least_one(grams, kg):
    assert billable_kg(grams) == kg


@pytest.mark.parametrize(("city", "zone"), [
    ("Jakarta Selatan", "JABODETABEK"), ("Kota Bekasi", "JABODETABEK"),
    ("Kabupaten Bogor", "JABODETABEK"), ("bandung", "BANDUNG"), ("Surabaya", "SURABAYA"),
    ("Sleman", "YOGYAKARTA"), ("Denpasar", "DENPASAR"), ("Medan", "MEDAN"),
    ("Makassar", "MAKASSAR"), ("Jayapura", "LAIN"), ("", "LAIN")])
def test_cities_fall_into_their_zones(city, zone):
    assert zone_of(city) == zone


def test_seed_is_idempotent_and_keeps_admin_edits(db):
    added = rates_seed()
    assert added == len(default_rates()) > 400
    row = db.session.scalars(select(ShippingRate).limit(1)).one()
    row.price_per_kg = 1_234
    db.session.flush()
    assert rates_seed() == 0
    assert db.session.scalar(select(func.count(ShippingRate.id))) == added
    db.session.refresh(row)
    assert row.price_per_kg == 1_234


def test_cost_is_price_per_kg_times_started_kilograms(db):
    rates_seed()
    per_kg = db.session.scalar(select(ShippingRate.price_per_kg).where(
        ShippingRate.service == "jne:REG", ShippingRate.origin_zone == "BANDUNG",
        ShippingRate.dest_zone == "MEDAN"))
    one = rates_quote(origin="Bandung", destination="Medan", grams=900,
                      services=["jne:REG"])
    three = rates_quote(origin="Bandung", destination="Medan", grams=2001,
                        services=["jne:REG"])
    assert [q.cost for q in one] == [per_kg]
    assert [q.cost for q in three] == [3 * per_kg]
    assert one[0].etd == "3-6" and one[0].source == "table"


def test_farther_zones_cost_more_and_take_longer(db):
    rates_seed()
    near = rates_quote(origin="Bandung", destination="Cimahi", grams=500,
                       services=["jne:REG"])[0]
    java = rates_quote(origin="Bandung", destination="Surabaya", grams=500,
                       services=["jne:REG"])[0]
    far = rates_quote(origin="Bandung", destination="Makassar", grams=500,
                      services=["jne:REG"])[0]
    assert near.cost < java.cost < far.cost
    assert near.etd_days[1] <= java.etd_days[1] <= far.etd_days[1]


def test_gosend_only_within_one_city(db):
    rates_seed()
    services = ["gosend:SAMEDAY", "jne:REG"]
    same = rates_quote(origin="Bandung", destination="Kota Bandung", grams=500,
                       services=services)
    zone_not_city = rates_quote(origin="Bandung", destination="Cimahi", grams=500,
                                services=services)
    assert {q.service for q in same} == {"gosend:SAMEDAY", "jne:REG"}
    assert [q.etd for q in same if q.service == "gosend:SAMEDAY"] == ["0"]
    assert {q.service for q in zone_not_city} == {"jne:REG"}


def test_only_asked_and_active_services_are_quoted_cheapest_first(db):
    rates_seed()
    db.session.execute(ShippingRate.__table__.update().where(
        ShippingRate.service == "sicepat:REG").values(active=False))
    quotes = rates_quote(origin="Jakarta", destination="Surabaya", grams=500,
                         services=["jne:REG", "jne:YES", "sicepat:REG", "nope:X"])
    assert [q.service for q in quotes] == ["jne:REG", "jne:YES"]
    assert quotes[0].cost <= quotes[1].cost


def test_flask_shipping_seed_command_loads_the_defaults_once(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["shipping", "seed"])
    second = runner.invoke(args=["shipping", "seed"])
    assert first.exit_code == 0 and f"{len(default_rates())} default rows added" in first.output
    assert second.exit_code == 0 and "0 default rows added" in second.output
    db.session.expire_all()
    assert db.session.scalar(select(func.count(ShippingRate.id))) == len(default_rates())
