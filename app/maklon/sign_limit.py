"""The rate limit of contract signing: one budget for the web's "Setuju"
(app.maklon.routes.contracts) and the API's accept (app.api.routes.maklon), a shared limit
with one counter per user."""

from __future__ import annotations

from flask import current_app
from flask_login import current_user

from app.extensions import limiter

SIGN_LIMIT_DEFAULT = "10 per 15 minutes"


def sign_limit() -> str:
    """CONTRACT_SIGN_LIMIT_PER_USER: signing attempts per user (the web's and the API's)."""
    return current_app.config.get("CONTRACT_SIGN_LIMIT_PER_USER", SIGN_LIMIT_DEFAULT)


def sign_limit_key() -> str:
    """Per user, not per login: a new session (or an API token) does not reset the count."""
    return f"contract-sign:{current_user.id}"


# One budget for the web's "Setuju" and the API's accept (a shared limit: same counter).
sign_rate_limit = limiter.shared_limit(sign_limit, scope="contract-sign",
                                       key_func=sign_limit_key)
