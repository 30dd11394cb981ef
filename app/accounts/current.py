"""The logged-in user's own things, for the routes that act on them."""

from __future__ import annotations

from flask import abort
from flask_login import current_user

from app.accounts.models import Store


def my_store() -> Store:
    """The logged-in seller's store. Aborts 403 for a user without one (a seller account
    always has one: it is created at registration)."""
    shop = current_user.store
    if shop is None:
        abort(403)
    return shop
