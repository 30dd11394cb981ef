"""The couriers Racik knows, their services, their public tracking pages and the loose
shape of their air-waybill numbers (AWB, "nomor resi"); and the shipping zones cities
belong to (the rate table prices zone to zone).

A service is named `<courier>:<SERVICE>` ("jne:REG"): that string is what a store offers,
what the buyer picks and what an order keeps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


@dataclass(frozen=True)
class Courier:
    code: str
    name: str
    tracking_url: str  # the courier's public tracking page; {awb} is the number
    awb_pattern: re.Pattern[str]
    awb_hint: object  # what a number of this courier looks like, for the message


@dataclass(frozen=True)
class Service:
    key: str  # "jne:REG"
    courier: Courier
    code: str  # "REG"
    label: object
    same_city_only: bool = False  # GoSend: only when origin and destination are one city

    @property
    def name(self) -> str:
        return f"{self.courier.name} {self.code}"


COURIERS: dict[str, Courier] = {c.code: c for c in (
    Courier("jne", "JNE", "https://www.jne.co.id/tracking-package?resi={awb}",
            re.compile(r"^[A-Z0-9]{10,16}$"), _l("10–16 huruf/angka, mis. CGK1234567890")),
    Courier("jnt", "J&T Express", "https://jet.co.id/track?awb={awb}",
            re.compile(r"^(JP|JX|JD)?\d{10,13}$"), _l("10–13 angka, boleh diawali JP, mis. "
                                                      "JP1234567890")),
    Courier("sicepat", "SiCepat", "https://www.sicepat.com/checkAwb?awb={awb}",
            re.compile(r"^\d{12}$"), _l("12 angka, mis. 004123456789")),
    Courier("anteraja", "AnterAja", "https://anteraja.id/tracking?awb={awb}",
            re.compile(r"^(1|AA)?\d{9,15}$"), _l("10–15 angka, mis. 10001234567890")),
    Courier("gosend", "GoSend", "https://www.gojek.com/gosend/?booking={awb}",
            re.compile(r"^GK-\d{1,2}-\d{5,12}$"), _l("kode pesanan GoSend, mis. "
                                                     "GK-11-123456789")),
)}

SERVICES: dict[str, Service] = {s.key: s for s in (
    Service("jne:REG", COURIERS["jne"], "REG", _l("Reguler")),
    Service("jne:YES", COURIERS["jne"], "YES", _l("Yakin Esok Sampai")),
    Service("jnt:EZ", COURIERS["jnt"], "EZ", _l("Reguler")),
    Service("sicepat:REG", COURIERS["sicepat"], "REG", _l("Reguler")),
    Service("sicepat:BEST", COURIERS["sicepat"], "BEST", _l("Besok Sampai Tujuan")),
    Service("anteraja:REG", COURIERS["anteraja"], "REG", _l("Reguler")),
    Service("gosend:SAMEDAY", COURIERS["gosend"], "SAMEDAY", _l("Same Day (satu kota)"),
            same_city_only=True),
)}

# Zones of the built-in rate table; a city not listed is "LAIN" (priced as far away).
ZONES: dict[str, object] = {
    "JABODETABEK": _l("Jabodetabek"),
    "BANDUNG": _l("Bandung Raya"),
    "SEMARANG": _l("Semarang"),
    "YOGYAKARTA": _l("Yogyakarta"),
    "SURABAYA": _l("Surabaya Raya"),
    "DENPASAR": _l("Denpasar & Bali"),
    "MEDAN": _l("Medan"),
    "MAKASSAR": _l("Makassar"),
    "LAIN": _l("Kota lain"),
}
ISLAND = {"JABODETABEK": "jawa", "BANDUNG": "jawa", "SEMARANG": "jawa",
          "YOGYAKARTA": "jawa", "SURABAYA": "jawa", "DENPASAR": "bali",
          "MEDAN": "sumatra", "MAKASSAR": "sulawesi", "LAIN": "lain"}
_CITY_ZONE = {
    "jakarta": "JABODETABEK", "jakarta pusat": "JABODETABEK", "jakarta selatan": "JABODETABEK",
    "jakarta barat": "JABODETABEK", "jakarta timur": "JABODETABEK",
    "jakarta utara": "JABODETABEK", "bogor": "JABODETABEK", "depok": "JABODETABEK",
    "tangerang": "JABODETABEK", "tangerang selatan": "JABODETABEK", "bekasi": "JABODETABEK",
    "bandung": "BANDUNG", "cimahi": "BANDUNG", "semarang": "SEMARANG",
    "yogyakarta": "YOGYAKARTA", "jogja": "YOGYAKARTA", "sleman": "YOGYAKARTA",
    "bantul": "YOGYAKARTA", "surabaya": "SURABAYA", "sidoarjo": "SURABAYA",
    "gresik": "SURABAYA", "denpasar": "DENPASAR", "badung": "DENPASAR", "gianyar": "DENPASAR",
    "medan": "MEDAN", "makassar": "MAKASSAR",
}
_CITY_PREFIX = re.compile(r"^(kota|kabupaten|kab\.?)\s+")


def city_key(city: str) -> str:
    """A city as compared: lower case, without "Kota"/"Kabupaten", the part before a comma
    ("Jakarta Selatan, DKI Jakarta" → "jakarta selatan")."""
    name = (city or "").split(",")[0].strip().lower()
    return " ".join(_CITY_PREFIX.sub("", name).split())


def zone_of(city: str) -> str:
    key = city_key(city)
    if key in _CITY_ZONE:
        return _CITY_ZONE[key]
    first = key.split(" ")[0] if key else ""
    return _CITY_ZONE.get(first, "LAIN")


def same_city(origin: str, destination: str) -> bool:
    return bool(city_key(origin)) and city_key(origin) == city_key(destination)


def tracking_url(service_key: str, awb: str) -> str:
    service = SERVICES.get(service_key)
    if service is None or not awb:
        return ""
    from urllib.parse import quote

    return service.courier.tracking_url.format(awb=quote(awb, safe=""))


def awb_normalise(awb: str) -> str:
    return re.sub(r"[\s]+", "", (awb or "")).upper()


def awb_problem(service_key: str, awb: str) -> str:
    """Why `awb` is not a number of the service's courier ("" when it looks right)."""
    service = SERVICES.get(service_key)
    if service is None:
        return ""
    if not awb:
        return str(_l("Isi nomor resi %(courier)s.", courier=service.courier.name))
    if not service.courier.awb_pattern.match(awb):
        return str(_l("Nomor resi %(courier)s tidak dikenali: %(hint)s.",
                      courier=service.courier.name, hint=service.courier.awb_hint))
    return ""
