"""Cart routes (being written)."""

from __future__ import annotations

from flask import abort

from app.orders.routes import bp


@bp.route("/keranjang")
def cart():
    abort(404)
