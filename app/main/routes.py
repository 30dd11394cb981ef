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
from app.core.cache import cached, public_page, shared_page

bp = Blueprint("main", __name__)


@bp.route("/")
@public_page
def index():
    # The storefront's sections are the same for every visitor: cached until a catalog write.
    def page() -> str:
        home = cached("home", storefront_home, tags=[CATALOG, CATEGORIES])
        return render_template("main/index.html", home=home)

    # An anonymous visitor's page is the same for all of them (no token, no flash, no name;
    # per language and htmx): its HTML is kept under the same tags, so the ~30 KB of cards
    # is not rendered again on every first visit.
    return shared_page(page, tags=[CATALOG, CATEGORIES])
