"""Main blueprint.

URL table:
    GET /    the storefront home: search, categories, popular and new products, featured
             stores, the maklon offer (all from `storefront_home()`, the same for every
             visitor), and for a signed-in user a short welcome with their areas
"""

from __future__ import annotations

from flask import Blueprint, render_template

from app.catalog.queries import storefront_home

bp = Blueprint("main", __name__)


@bp.route("/")
def index():
    return render_template("main/index.html", home=storefront_home())
