"""The public product page, rendered: the catalog's page and the cart's refused "add"
(which shows the page again with the message) both answer with it, so it lives below the
routes that use it."""

from __future__ import annotations

from flask import abort, request
from flask_login import current_user

from app.catalog.queries import is_own_product, product_public, product_visible, variant_pick
from app.core.http import render_page
from app.orders.reviews import product_reviews_page, rating_distribution


def product_page(product_id: int):
    """The product page (or its variant partial for htmx) of a visible product; 404 for a
    product the current user may not see."""
    item = product_public(product_id)
    if not product_visible(item, current_user):
        abort(404)
    is_owner = is_own_product(item, current_user)
    chosen = {group["name"]: request.args.get(f"opsi-{index}", "")
              for index, group in enumerate(item.option_groups)}
    if item.option_groups and not any(chosen.values()):
        first = item.active_variants[0] if item.active_variants else None
        chosen = dict(first.options) if first else chosen
    variant = variant_pick(item, chosen)
    rating, rating_count = item.rating_avg, item.rating_count
    return render_page("catalog/product.html", "catalog/_variant.html", product=item,
                       variant=variant, chosen=chosen, is_owner=is_owner,
                       rating=rating, rating_count=rating_count,
                       reviews=product_reviews_page(item.id),
                       rating_bars=rating_distribution(item.id))
