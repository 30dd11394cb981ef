"""Checkout routes (being written)."""

from __future__ import annotations

from flask import abort

from app.orders.routes import bp


@bp.route("/checkout/<reference>")
def checkout_detail(reference: str):
    abort(404)
