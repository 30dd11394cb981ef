"""Concurrent registrations: the database decides, users get clean answers, nothing half-made.

Real threads against the real database (SQLite in WAL mode with BEGIN IMMEDIATE, or
PostgreSQL), each with its own browser session.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from app.accounts.models import Store, User
from app.core.models import EmailOutbox
from tests.factories import DEFAULT_PASSWORD

THREADS = 6


def _register_all(make_client, forms: list[dict]) -> list[int]:
    clients = [make_client() for _ in forms]
    tokens = [c.csrf_token() for c in clients]  # fetched first so the POSTs really overlap
    barrier = threading.Barrier(len(forms))
    statuses: list[int] = [0] * len(forms)

    def worker(index: int) -> None:
        client = clients[index]
        barrier.wait()
        response = client.open("/daftar", method="POST", csrf=False,
                               data={**forms[index], "csrf_token": tokens[index]})
        statuses[index] = response.status_code

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(forms))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return statuses


def _form(n: int, email: str, store: str | None = None) -> dict:
    form = {"account_type": "customer", "name": f"Orang {n}", "email": email,
            "password": DEFAULT_PASSWORD, "password_confirm": DEFAULT_PASSWORD}
    if store:
        form.update(account_type="seller", store_name=store, store_location="Solo")
    return form


def test_same_email_registered_at_once_creates_exactly_one_user(app, make_client, db):
    forms = [_form(n, "rebutan@example.test") for n in range(THREADS)]
    statuses = _register_all(make_client, forms)
    assert sorted(statuses) == [303] + [422] * (THREADS - 1)
    assert db.session.scalar(select(func.count(User.id))) == 1
    assert db.session.scalar(select(func.count(EmailOutbox.id))) == 1  # one welcome email


def test_same_store_name_at_once_gets_distinct_slugs(app, make_client, db):
    forms = [_form(n, f"penjual{n}@example.test", store="Toko Kembar") for n in range(THREADS)]
    statuses = _register_all(make_client, forms)
    assert statuses == [303] * THREADS
    slugs = sorted(db.session.scalars(select(Store.slug)))
    assert slugs == sorted(["toko-kembar"] + [f"toko-kembar-{n}" for n in range(2, THREADS + 1)])
