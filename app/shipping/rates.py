"""Rate sources: what a parcel of a given weight costs from one city to another with each
service, and how many days it takes.

- `TableSource`: the built-in rate table (`ShippingRate`, zone to zone, price per started
  kilogram), editable by the admin and seeded with Indonesian defaults by `rates_seed`
  (`flask shipping seed`, run by the demo load).
- `AggregatorSource`: an external rate API shaped like the Indonesian aggregators
  (RajaOngkir-style: `POST {SHIPPING_API_URL}/cost` with origin, destination, weight in
  grams and the couriers joined by ":"; header `key`), used when `SHIPPING_API_KEY` is set.
  A timeout, a refused connection or an answer that is not the expected shape is logged
  and the table answers instead: a buyer never sees a 500 for a slow courier API.

`rates_quote` is the one entry point: the services asked for, priced, cheapest first.
"""

from __future__ import annotations

import json
import logging
import math
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from flask import current_app
from sqlalchemy import select

from app.extensions import db
from app.shipping.couriers import ISLAND, SERVICES, Service, same_city, zone_of
from app.shipping.models import ShippingRate

log = logging.getLogger(__name__)

MIN_WEIGHT_GRAMS = 1000  # couriers charge at least one kilogram


SourceName = Literal["table", "aggregator"]  # where a quote's price came from


@dataclass(frozen=True)
class Quote:
    """One service's price for one parcel."""

    service: str  # "jne:REG"
    cost: int
    etd: str  # "2-3" days; "0" the same day
    source: SourceName = "table"

    @property
    def info(self) -> Service:
        return SERVICES[self.service]

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def etd_days(self) -> tuple[int, int]:
        low, _, high = self.etd.partition("-")
        try:
            return int(low), int(high or low)
        except ValueError:
            return 0, 0


@dataclass(frozen=True)
class TrackEvent:
    occurred_at: datetime
    description: str
    location: str = ""
    code: str = ""


class RateSourceError(Exception):
    """The external source did not answer usefully (timeout, HTTP error, bad shape)."""


class RateSource(Protocol):
    name: SourceName

    def quote(self, *, origin: str, destination: str, grams: int,
              services: list[str]) -> list[Quote]: ...


def billable_kg(grams: int) -> int:
    """Couriers price by the started kilogram, at least one: 1001 g is 2 kg."""
    return max(1, math.ceil(max(grams, 0) / 1000))


def _etd(low: int, high: int) -> str:
    return str(low) if low == high else f"{low}-{high}"


class TableSource:
    name: SourceName = "table"

    def quote(self, *, origin: str, destination: str, grams: int,
              services: list[str]) -> list[Quote]:
        wanted = [s for s in services if s in SERVICES]
        if not wanted:
            return []
        o_zone, d_zone = zone_of(origin), zone_of(destination)
        rows = db.session.scalars(select(ShippingRate).where(
            ShippingRate.service.in_(wanted), ShippingRate.origin_zone == o_zone,
            ShippingRate.dest_zone == d_zone, ShippingRate.active.is_(True))).all()
        kg = billable_kg(grams)
        quotes = []
        for row in rows:
            if SERVICES[row.service].same_city_only and not same_city(origin, destination):
                continue
            quotes.append(Quote(service=row.service, cost=row.price_per_kg * kg,
                                etd=_etd(row.etd_min, row.etd_max)))
        return quotes


class AggregatorSource:
    """The external API (see the module docstring); raises RateSourceError."""

    name: SourceName = "aggregator"

    def __init__(self, url: str, key: str, timeout: float):
        self.url = url.rstrip("/")
        self.key = key
        self.timeout = timeout

    def _post(self, path: str, data: dict[str, Any]) -> dict[str, Any]:
        request = urllib.request.Request(  # noqa: S310 - the base URL comes from config
            f"{self.url}{path}", data=urllib.parse.urlencode(data).encode(), method="POST",
            headers={"key": self.key, "Accept": "application/json",
                     "Content-Type": "application/x-www-form-urlencoded"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read(1_000_000)
        except urllib.error.HTTPError as error:
            raise RateSourceError(f"HTTP {error.code}") from error
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
            raise RateSourceError(type(error).__name__) from error
        try:
            body = json.loads(raw)["rajaongkir"]
        except (ValueError, KeyError, TypeError) as error:
            raise RateSourceError("not a rajaongkir answer") from error
        if not isinstance(body, dict):
            raise RateSourceError("not a rajaongkir answer")
        return body

    def quote(self, *, origin: str, destination: str, grams: int,
              services: list[str]) -> list[Quote]:
        wanted = [s for s in services if s in SERVICES]
        couriers = sorted({s.split(":")[0] for s in wanted})
        if not couriers:
            return []
        body = self._post("/cost", {"origin": origin, "destination": destination,
                                    "weight": max(grams, 1), "courier": ":".join(couriers)})
        quotes = []
        try:
            for result in body["results"]:
                for cost in result["costs"]:
                    key = f"{str(result['code']).lower()}:{str(cost['service']).upper()}"
                    value = cost["cost"][0]
                    price = int(value["value"])
                    etd = str(value.get("etd") or "").upper().replace("HARI", "").strip()
                    if key in wanted and price > 0:
                        quotes.append(Quote(service=key, cost=price,
                                            etd=etd.replace(" ", "") or "0",
                                            source=self.name))
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise RateSourceError("bad cost result") from error
        return quotes

    def track(self, *, awb: str, courier: str) -> list[TrackEvent]:
        body = self._post("/waybill", {"waybill": awb, "courier": courier})
        events = []
        try:
            for line in body["result"]["manifest"]:
                when = datetime.fromisoformat(
                    f"{line['manifest_date']}T{line['manifest_time']}+07:00")
                events.append(TrackEvent(occurred_at=when,
                                         description=str(line["manifest_description"])[:300],
                                         location=str(line.get("city_name") or "")[:120],
                                         code=str(line.get("manifest_code") or "")[:30]))
        except (KeyError, TypeError, ValueError) as error:
            raise RateSourceError("bad waybill result") from error
        return events


def aggregator() -> AggregatorSource | None:
    """The external source when its key is configured, else None."""
    key = current_app.config.get("SHIPPING_API_KEY") or ""
    url = current_app.config.get("SHIPPING_API_URL") or ""
    if not key or not url:
        return None
    return AggregatorSource(url, key, float(current_app.config.get("SHIPPING_API_TIMEOUT", 3)))


# After a failure the aggregator is left alone this long (per process), so a checkout of
# five stores waits for one timeout, not five, and a dead API costs nothing meanwhile.
COOLDOWN_SECONDS = 60.0
_cooldown = {"until": 0.0}


def aggregator_cooldown_reset() -> None:
    _cooldown["until"] = 0.0


def rates_quote(*, origin: str, destination: str, grams: int,
                services: list[str]) -> list[Quote]:
    """Price `services` for one parcel, cheapest first: the aggregator when configured, the
    table when it is not, when it fails (logged) or in the minute after it failed."""
    external = aggregator()
    quotes: list[Quote] | None = None
    if external is not None and time.monotonic() >= _cooldown["until"]:
        try:
            quotes = external.quote(origin=origin, destination=destination, grams=grams,
                                    services=services)
        except RateSourceError as error:
            _cooldown["until"] = time.monotonic() + COOLDOWN_SECONDS
            log.warning("shipping rate API failed (%s): the rate table answers for the "
                        "next %s s", error, int(COOLDOWN_SECONDS))
    if quotes is None:
        quotes = TableSource().quote(origin=origin, destination=destination, grams=grams,
                                     services=services)
    return sorted(quotes, key=lambda q: (q.cost, q.etd_days, q.service))


# The defaults: a base price per kg and days by how far apart two zones are, and each
# service's factor and speed. Roughly what the couriers charged in 2025.
_BASE = {"zone": (9_000, 1, 2), "island": (16_000, 2, 3), "near": (24_000, 2, 4),
         "far": (38_000, 3, 6), "remote": (52_000, 4, 8)}
_SERVICE_FACTOR = {"jne:REG": (1.0, 0), "jne:YES": (1.8, -9), "jnt:EZ": (1.0, 0),
                   "sicepat:REG": (0.95, 0), "sicepat:BEST": (1.6, -9),
                   "anteraja:REG": (0.95, 0)}
GOSEND_PER_KG = 25_000


def _distance(origin: str, dest: str) -> str:
    if origin == dest and origin != "LAIN":
        return "zone"
    a, b = ISLAND[origin], ISLAND[dest]
    if "lain" in (a, b):
        return "remote"
    if a == b:
        return "island"
    if {a, b} == {"jawa", "bali"}:
        return "near"
    return "far"


def default_rates() -> list[dict[str, Any]]:
    """The shipped rate table: every service between every two zones (GoSend within a
    zone only, and only ever used within one city)."""
    rows = []
    for origin in ISLAND:
        for dest in ISLAND:
            base, low, high = _BASE[_distance(origin, dest)]
            for service, (factor, faster) in _SERVICE_FACTOR.items():
                price = int(round(base * factor / 500.0) * 500)
                lo, hi = (1, 1) if faster and _distance(origin, dest) in ("zone", "island") \
                    else (low, high) if not faster else (max(1, low - 1), max(1, high - 1))
                rows.append({"service": service, "origin_zone": origin, "dest_zone": dest,
                             "price_per_kg": price, "etd_min": lo, "etd_max": hi})
            if origin == dest and origin != "LAIN":
                rows.append({"service": "gosend:SAMEDAY", "origin_zone": origin,
                             "dest_zone": dest, "price_per_kg": GOSEND_PER_KG,
                             "etd_min": 0, "etd_max": 0})
    return rows


def rates_seed() -> int:
    """Add the default rows the table lacks (an admin's edits are kept); returns how many
    were added. Flushes."""
    have = {(r.service, r.origin_zone, r.dest_zone)
            for r in db.session.execute(select(ShippingRate.service, ShippingRate.origin_zone,
                                               ShippingRate.dest_zone))}
    added = 0
    for row in default_rates():
        if (row["service"], row["origin_zone"], row["dest_zone"]) not in have:
            db.session.add(ShippingRate(**row))
            added += 1
    db.session.flush()
    return added
