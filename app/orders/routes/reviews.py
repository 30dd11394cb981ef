"""Reviews (being written)."""

from __future__ import annotations

from app.orders.routes import bp  # noqa: F401
