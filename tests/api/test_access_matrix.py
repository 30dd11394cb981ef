"""The API access matrix: every `/api/v1` operation by the eight actors of the web matrix,
on objects owned by A (the same world, tests/core/test_access_matrix.py).

Every API endpoint must be declared in one area module of tests/api/access/, so no
operation ships without a decision about who may call it. Expected outcomes are statuses:
no token is 401, a role without access 403, B on A's objects 404 (ownership in the query).
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

from tests.api import access
from tests.api.conftest import ApiClient, mint_tokens
from tests.conftest import empty_tables
from tests.core.test_access_matrix import ACTORS, ANON, _build_world, cell_url

AREAS = [importlib.import_module(f"tests.api.access.{m.name}")
         for m in pkgutil.iter_modules(access.__path__)]
ACCESS: dict[str, dict[str, dict[str, object]]] = {}
FRESH: dict = {}
BODIES: dict = {}
for _area in AREAS:
    assert not set(_area.ACCESS) & set(ACCESS), f"{_area.__name__} declares an endpoint twice"
    ACCESS.update(_area.ACCESS)
    FRESH.update(getattr(_area, "FRESH", {}))
    BODIES.update(getattr(_area, "BODIES", {}))
LAST = ("api.logout",)


@pytest.fixture(autouse=True)
def _clean_state():
    """The world lives for the whole module (emptied by `world`); limits reset per test."""
    from app.extensions import limiter

    limiter.reset()
    yield


@pytest.fixture(scope="module")
def world(app):
    try:
        with app.app_context():
            built = _build_world()
            built.api_args = {}
            for area in AREAS:
                built.api_args.update(area.args(built))
            from sqlalchemy import select

            from app.accounts.models import User
            from app.extensions import db

            built.user_ids = {actor: db.session.scalars(
                select(User.id).where(User.email == email)).one()
                for actor, email in built.emails.items()}
        yield built
    finally:
        empty_tables(app)


def _url(app, w, endpoint: str) -> str:
    return cell_url(app, w, endpoint, FRESH, w.api_args)


def _body(app, w, endpoint: str):
    body = BODIES.get(endpoint, {})
    if callable(body):
        from app.extensions import db

        with app.app_context():
            body = body(w)
            db.session.commit()
    return body


def test_every_api_operation_is_declared(app):
    declared = {(endpoint, method) for endpoint, methods in ACCESS.items() for method in methods}
    present = {(rule.endpoint, method) for rule in app.url_map.iter_rules()
               if rule.endpoint.startswith("api.")
               for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert present - declared == set(), "declare who may call these in tests/api/access/"
    assert declared - present == set(), "tests/api/access/ lists operations that do not exist"
    assert all(set(by_actor) == set(ACTORS) for methods in ACCESS.values()
               for by_actor in methods.values()), "every cell names all eight actors"


@pytest.mark.parametrize("actor", ACTORS)
def test_api_access_by_actor(app, world, actor):
    client = ApiClient(app)
    if actor != ANON:
        client.token = mint_tokens(app, world.user_ids[actor])["access_token"]
    mismatches = []
    for endpoint, methods in [*((e, m) for e, m in ACCESS.items() if e not in LAST),
                              *((e, ACCESS[e]) for e in LAST)]:
        for method, expected_by_actor in methods.items():
            url = _url(app, world, endpoint)
            body = _body(app, world, endpoint) if method != "GET" else None
            response = client.open(url, method, json=body)
            if response.status_code != expected_by_actor[actor]:
                mismatches.append(f"{method} {url} ({endpoint}) as {actor}: got "
                                  f"{response.status_code}, want {expected_by_actor[actor]}"
                                  f" {response.get_data(as_text=True)[:200]}")
            if response.status_code >= 400 and endpoint != "api.docs":
                body = response.get_json()
                assert body and set(body["error"]) == {"code", "message", "fields"}, url
    assert not mismatches, "\n".join(mismatches)
