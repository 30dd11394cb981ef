"""API test helpers: `api(user)` is a JSON client holding that user's access token.

    def test_x(api, db):
        buyer = make_user(roles=("customer",)); db.session.commit()
        client = api(buyer)                      # token minted for buyer
        response = client.get("/api/v1/cart")
        client.post("/api/v1/cart/items", json={...}, headers={"Idempotency-Key": "k1"})
        api().get("/api/v1/products")            # anonymous

Like the browser client, each request runs in its own app context; the test's session is
committed before and after, so arranged rows are visible and written ones re-read.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient

from app.extensions import db as _db


def mint_tokens(app: Flask, user_id: int) -> dict[str, Any]:
    """A fresh API login for the user (as POST /auth/login would make), without 2FA."""
    from app.accounts.api_tokens import token_pair_issue
    from app.accounts.models import User

    with app.test_request_context("/api/v1/auth/login", method="POST"):
        user = _db.session.get(User, user_id)
        pair = token_pair_issue(user=user)
        _db.session.commit()
        return {"access_token": pair.access_token, "refresh_token": pair.refresh_token,
                "family_id": pair.family_id}


class ApiClient:
    """JSON requests with `Authorization: Bearer <token>` (none when anonymous)."""

    def __init__(self, app: Flask, token: str | None = None, tokens: dict | None = None):
        self.app = app
        self.token = token
        self.tokens = tokens or {}
        app.test_client_class = FlaskClient
        self.client = app.test_client()

    def open(self, path: str, method: str = "GET", *, json: Any = None,
             headers: dict[str, str] | None = None, **kwargs: Any):
        headers = dict(headers or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        outer = has_app_context()
        if outer:
            _db.session.commit()
        with self.app.app_context():
            response = self.client.open(path, method=method, json=json, headers=headers,
                                        **kwargs)
        if outer:
            _db.session.commit()
        return response

    def get(self, path: str, **kwargs: Any):
        return self.open(path, "GET", **kwargs)

    def post(self, path: str, **kwargs: Any):
        return self.open(path, "POST", **kwargs)

    def put(self, path: str, **kwargs: Any):
        return self.open(path, "PUT", **kwargs)

    def patch(self, path: str, **kwargs: Any):
        return self.open(path, "PATCH", **kwargs)

    def delete(self, path: str, **kwargs: Any):
        return self.open(path, "DELETE", **kwargs)


@pytest.fixture
def api(app: Flask):
    """`api(user)`: a client with a fresh access token of `user`; `api()`: anonymous."""

    def _make(user=None) -> ApiClient:
        if user is None:
            return ApiClient(app)
        if has_app_context():
            _db.session.commit()
        tokens = mint_tokens(app, user.id)
        return ApiClient(app, tokens["access_token"], tokens)

    return _make


def error_code(response) -> str:
    """The `error.code` of an API error answer (and proof it has the error format)."""
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]["code"]
