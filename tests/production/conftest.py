"""`make test-production`: the production topology (tests/production/topology.py), owned by
one session fixture. These tests are marked `production` and run only when that marker is
selected (`pytest -m production tests/production`); `make test` deselects them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import missing_service
from tests.production.topology import PG_SERVER, REDIS_SERVER, Topology


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = [item for item in items if "tests/production/" in str(item.fspath)]
    for item in here:
        item.add_marker(pytest.mark.production)
    if "production" not in (config.getoption("-m") or ""):
        skip = pytest.mark.skip(reason="the production topology: make test-production")
        for item in here:
            item.add_marker(skip)


@dataclass
class Shop:
    """What the tests arrange in the topology's database (as an operator's data would be)."""

    seller_email: str
    buyer_emails: list[str]
    variant_id: int
    address_ids: dict[str, int]
    password: str


def _services_present() -> None:
    import socket

    from tests.nginx import nginx_binary

    if nginx_binary() is None:
        missing_service("nginx (Debian's, `make chromium` installs it)")
    for what, url, port in (("PostgreSQL", PG_SERVER, 5432), ("Redis", REDIS_SERVER, 6379)):
        host = url.split("://", 1)[1].split(":")[0]
        port = int(url.rsplit(":", 1)[1]) if url.count(":") > 1 else port
        try:
            socket.create_connection((host, port), timeout=2).close()
        except OSError as error:
            missing_service(f"{what} at {url}: {error}")


def _arrange(topology: Topology) -> Shop:
    """A seller with a product in stock and buyers with addresses, written with the suite's
    factories through an app on the topology's database (the web nodes migrated it)."""
    from app import create_app
    from app.config import TestConfig
    from app.extensions import db
    from tests.factories import DEFAULT_PASSWORD, make_address, make_product, make_user

    arrange = create_app(TestConfig, SQLALCHEMY_DATABASE_URI=topology.database_url,
                         INSTANCE_PATH=str(topology.instance))
    with arrange.app_context():
        seller = make_user(roles=("seller",), email="penjual@racik-topologi.id")
        product = make_product(store=seller.store, stock=100_000, price=125_000)
        buyers, addresses = [], {}
        for n in range(1, 5):
            buyer = make_user(email=f"pembeli{n}@racik-topologi.id")
            addresses[buyer.email] = make_address(user=buyer).id
            buyers.append(buyer.email)
        shop = Shop(seller_email=seller.email, buyer_emails=buyers,
                    variant_id=product.variants[0].id, address_ids=addresses,
                    password=DEFAULT_PASSWORD)
        db.session.commit()
        db.engine.dispose()
    return shop


@pytest.fixture(scope="session")
def topology(tmp_path_factory) -> Iterator[Topology]:
    _services_present()
    started = Topology(tmp_path_factory.mktemp("production"))
    try:
        started.start()
        yield started
    finally:
        started.stop()
        print(f"\nproduction figures: {started.write_figures()}")


@pytest.fixture(scope="session")
def shop(topology) -> Shop:
    return _arrange(topology)
