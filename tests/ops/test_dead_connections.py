"""PostgreSQL connections terminated under the app (pg_terminate_backend): reads answer
200, a dead connection never turns a rendered answer into a 500, and an idempotent
checkout whose connection died after its commit is replayed to the client's retry."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import request_finished
from sqlalchemy import create_engine, event, func, select, text

from app.extensions import db as _db
from app.orders.models import Checkout
from tests.factories import make_address, make_product, make_user
from tests.live import raw_request

pytestmark = pytest.mark.usefixtures("_postgres_only")


@pytest.fixture
def _postgres_only(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("pg_terminate_backend is PostgreSQL's (run with --db=postgres)")


@pytest.fixture
def terminate(database_url) -> Iterator:
    """terminate(pid=None): end that backend (default: every other one of this database)
    and wait until it is gone."""
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")

    def _terminate(pid: int | None = None) -> int:
        with admin.connect() as connection:
            if pid is not None:
                return int(connection.execute(
                    text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar())
            return len(connection.execute(text(
                "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend'")).all())

    yield _terminate
    admin.dispose()


def _backend_pid(dbapi_connection) -> int:
    return dbapi_connection.info.backend_pid


@contextmanager
def _kill_once(engine, terminate, when) -> Iterator[list]:
    """Terminate the backend of the connection that is about to run the first statement
    `when(statement)` accepts (in the live server's thread), once."""
    fired: list[int] = []
    lock = threading.Lock()

    def before(conn, cursor, statement, parameters, context, executemany) -> None:
        with lock:
            if fired or not when(statement):
                return
            fired.append(_backend_pid(conn.connection.dbapi_connection))
        terminate(fired[0])

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield fired
    finally:
        event.remove(engine, "before_cursor_execute", before)


def _shop(db):
    seller = make_user(roles=("seller",))
    product_id = make_product(store=seller.store, name="Serum Tahan Mati", price=50_000,
                              stock=9).id
    db.session.commit()
    db.session.close()  # the test holds no connection the terminations would cut
    return product_id


def test_reads_answer_200_after_every_backend_was_terminated_between_requests(
        app, db, live_url, terminate):
    product_id = _shop(db)
    assert raw_request(live_url, f"/produk/{product_id}").status == 200
    assert terminate() >= 1
    for _ in range(3):
        answer = raw_request(live_url, f"/produk/{product_id}")
        assert answer.status == 200 and "Serum Tahan Mati" in answer.text()


def test_a_read_whose_connection_dies_mid_request_runs_again_and_answers_200(
        app, db, live_url, terminate):
    product_id = _shop(db)
    db.session.close()
    with app.app_context():
        engine = _db.engine
    with _kill_once(engine, terminate, lambda sql: "FROM products" in sql) as fired:
        answer = raw_request(live_url, f"/produk/{product_id}")
    assert fired, "no statement was interrupted"
    assert answer.status == 200 and "Serum Tahan Mati" in answer.text()


def test_a_rendered_read_whose_connection_dies_before_teardown_still_answers_200(
        app, db, live_url, terminate):
    product_id = _shop(db)
    db.session.close()
    killed: list[int] = []

    def kill_after_render(sender, response, **extra) -> None:
        if killed:
            return
        connection = _db.session.connection()  # the request's, still in its transaction
        killed.append(_backend_pid(connection.connection.dbapi_connection))
        terminate(killed[0])

    request_finished.connect(kill_after_render, app)
    try:
        answer = raw_request(live_url, f"/produk/{product_id}",
                             headers={"X-Request-ID": "teardown-test-01"})
    finally:
        request_finished.disconnect(kill_after_render, app)
    assert killed
    assert answer.status == 200 and "Serum Tahan Mati" in answer.text()
    assert answer.headers["X-Request-ID"] == "teardown-test-01"


def test_a_checkout_whose_connection_died_after_commit_is_replayed_to_the_retry(
        app, db, live_url, terminate):
    from app.orders.cart import cart_add
    from tests.api.conftest import mint_tokens

    seller = make_user(roles=("seller",))
    variant = make_product(store=seller.store, name="Serum", price=50_000, stock=9).variants[0]
    buyer = make_user()
    address = make_address(user=buyer)
    cart_add(user=buyer, variant_id=variant.id, quantity=1)
    db.session.commit()
    tokens = mint_tokens(app, buyer.id)
    body = json.dumps({"address_id": address.id, "payment_method": "va_bca"}).encode()
    headers = {"Authorization": f"Bearer {tokens['access_token']}",
               "Content-Type": "application/json", "Idempotency-Key": "dead-conn-key-0001"}
    db.session.close()
    with app.app_context():
        engine = _db.engine
    # The checkout committed; the connection dies as the answer is being stored.
    with _kill_once(engine, terminate,
                    lambda sql: sql.lstrip().upper().startswith("UPDATE API_IDEMPOTENCY_KEYS")
                    ) as fired:
        first = raw_request(live_url, "/api/v1/checkout", method="POST", body=body,
                            headers=headers)
    assert fired
    assert first.status == 201, first.text()[:500]
    retry = raw_request(live_url, "/api/v1/checkout", method="POST", body=body,
                        headers=headers)
    assert retry.status == 201, retry.text()[:500]
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert json.loads(retry.body) == json.loads(first.body)
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Checkout)) == 1
