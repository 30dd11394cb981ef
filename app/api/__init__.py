"""JSON API v1 (`/api/v1`) for the mobile apps and partners' systems.

The API is another face of the same services the HTML routes call: a view parses its
input, calls the domain's service or query, and shapes the answer; no business rule lives
here. Where things are:

    spec.py         @operation: route + auth/roles + query/body parsing + JSON/ETag answer,
                    and the OpenAPI 3.1 document built from those same declarations
    schemas.py      Input/Output base models and the bounded field types (Id, Rupiah...)
    errors.py       ApiError and the one error format {"error": {"code", "message", "fields"}}
    idempotency.py  Idempotency-Key (checkout, payments, products, addresses)
    models.py       IdempotencyRecord
    routes/         one module per area: auth (login, refresh, logout, me), addresses (the
                    user's saved addresses), docs (the OpenAPI document and its page),
                    catalog, seller, cart, checkout, orders, reviews, payments, maklon, crm

Authentication is a Bearer access token (app/accounts/api_tokens.py); cookies are ignored
here, which is why the blueprint needs no CSRF token.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, Flask, current_app, g, request
from flask_limiter.util import get_remote_address
from werkzeug.routing import BaseConverter

from app.api.errors import ApiError, api_error_response, http_error_response
from app.extensions import csrf, db, limiter, login_manager

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class IdConverter(BaseConverter):
    """`<id:name>`: a database id. Up to ten digits match here (a range check in the
    converter would make werkzeug answer 405 when another method shares the path); the
    operation answers 404 for 0 and for values past 2**31-1 (spec.py)."""

    regex = r"\d{1,10}"
    weight = 50

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: object) -> str:
        return str(int(value))  # type: ignore[call-overload]


def _api_limit_key() -> str:
    header = request.headers.get("Authorization", "")
    if header:
        return "api-token:" + hashlib.sha256(header.encode()).hexdigest()[:24]
    return "api-ip:" + (get_remote_address() or "")


limiter.limit(lambda: current_app.config["API_LIMIT"], key_func=_api_limit_key, scope="api")(bp)


@bp.before_request
def _authenticate() -> None:
    """The user is the access token's, never the browser session's: a request without a
    token is anonymous here even when a cookie is sent."""
    from app.accounts.api_tokens import TokenError, TokenErrorCode, access_token_user

    g._login_user = login_manager.anonymous_user()
    header = request.headers.get("Authorization")
    if header is None:
        return
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, TokenErrorCode.TOKEN_INVALID,
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    try:
        user, family_id = access_token_user(token.strip())
    except TokenError as error:
        raise ApiError(401, error.code,
                       headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}) from None
    user.api_family_id = family_id
    g._login_user = user


@bp.after_request
def _vary(response):
    response.vary.add("Authorization")
    response.vary.add("Accept-Language")
    return response


def _api_error(error: ApiError):
    db.session.rollback()
    return api_error_response(error)


def init_api(app: Flask) -> None:
    """Before the blueprints are registered: the `id` converter, the error format, limits."""
    from app.core.http import error_renderer_register

    app.url_map.converters["id"] = IdConverter
    app.register_error_handler(ApiError, _api_error)
    from app.api.idempotency import idempotency_release_open_claim

    app.teardown_request(idempotency_release_open_claim)
    error_renderer_register("/api/", http_error_response)
    from app.api import routes  # noqa: F401 - registers the operations on bp
