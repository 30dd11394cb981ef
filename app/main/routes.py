"""Main blueprint.

URL table:
    GET /    the storefront home: search, categories, popular and new products, featured
             stores, the maklon offer (all from `storefront_home()`, the same for every
             visitor), and for a signed-in user a short welcome with their areas
"""

from __future__ import annotations

from flask import Blueprint, render_template

from app.catalog.cache import CATALOG, CATEGORIES
from app.catalog.queries import storefront_home
from app.core.cache import cached, public_page

bp = Blueprint("main", __name__)


@bp.route("/")
@public_page
def index():
    # The storefront's sections are the same for every visitor: cached until a catalog write.
    home = cached("home", storefront_home, tags=[CATALOG, CATEGORIES])
    return render_template("main/index.html", home=home)
