"""Order pages and lifecycle (being written)."""

from __future__ import annotations

from flask import abort

from app.orders.routes import bp


@bp.route("/seller/pesanan/<number>")
def seller_order(number: str):
    abort(404)


@bp.route("/pesanan/<number>")
def order_detail(number: str):
    abort(404)


@bp.route("/pesanan")
def my_orders():
    abort(404)
