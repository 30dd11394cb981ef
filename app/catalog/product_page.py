"""The public product page, rendered: the catalog's page and the cart's refused "add"
(which shows the page again with the message) both answer with it, so it lives below the
routes that use it. Its reviews section is the orders domain's (reviews need delivered
orders): orders registers its reads with `product_reviews_register`, so the catalog
imports nothing of orders; without them the page shows no reviews."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, current_app, request
from flask_login import current_user

from app.catalog.queries import is_own_product, product_public, product_visible, variant_pick
from app.core.http import render_page

REVIEWS_EXTENSION = "racik.product_reviews"


@dataclass(frozen=True)
class ProductReviews:
    """The reads of a product page's reviews section: one page of reviews, the star bars."""

    page: Callable[[int], Any]
    distribution: Callable[[int], list]


def product_reviews_register(app: Flask, reviews: ProductReviews) -> None:
    """Let `app`'s product pages show reviews (the orders blueprint calls it)."""
    app.extensions[REVIEWS_EXTENSION] = reviews


def product_page(product_id: int):
    """The product page (or its variant partial for htmx) of a visible product; 404 for a
    product the current user may not see."""
    item = product_public(product_id)
    if item is None or not product_visible(item, current_user):
        abort(404)
    is_owner = is_own_product(item, current_user)
    chosen = {group["name"]: request.args.get(f"opsi-{index}", "")
              for index, group in enumerate(item.option_groups)}
    if item.option_groups and not any(chosen.values()):
        first = item.active_variants[0] if item.active_variants else None
        chosen = dict(first.options) if first else chosen
    variant = variant_pick(item, chosen)
    rating, rating_count = item.rating_avg, item.rating_count
    reviews: ProductReviews | None = current_app.extensions.get(REVIEWS_EXTENSION)
    return render_page("catalog/product.html", "catalog/_variant.html", product=item,
                       variant=variant, chosen=chosen, is_owner=is_owner,
                       rating=rating, rating_count=rating_count,
                       reviews=reviews.page(item.id) if reviews else None,
                       rating_bars=reviews.distribution(item.id) if reviews else [])
