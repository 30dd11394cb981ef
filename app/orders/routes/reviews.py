"""Reviews: the buyer's review form, the product's reviews, the seller's reviews and reply.

URL table:
    GET/POST  /pesanan/<number>/ulasan/<item_id>    review one item of a delivered order
    GET       /produk/<product_id>/ulasan           a product's reviews (`?hal=N`; htmx: list)
    GET       /seller/ulasan                        the store's reviews (`?belum=1`: unreplied)
    POST      /seller/ulasan/<review_id>/balas      the store's one reply (htmx: the review)

The order (and its item) is selected together with the buyer's id, the review with the
seller's store id: another owner's object is a 404.
"""

from __future__ import annotations

from flask import abort, flash, g, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from app.accounts.current import my_store
from app.accounts.models import Store
from app.catalog.models import Product
from app.catalog.queries import product_visible
from app.core.forms import parse_int
from app.core.http import is_htmx, render_error, render_page, see_other
from app.core.security import owned_or_404, role_required
from app.extensions import db
from app.orders.models import Order, OrderItem, Review
from app.orders.reviews import (
    MAX_COMMENT,
    MAX_REPLY,
    RATINGS,
    ReviewError,
    buyer_first_name,
    buyer_reviews_by_product,
    product_reviews_page,
    review_check,
    review_create,
    review_reply,
    store_reviews,
)
from app.orders.routes import bp


@bp.app_template_filter("first_name")
def _first_name(name: str | None) -> str:
    return buyer_first_name(name)


@bp.app_template_global("reviewed_products")
def reviewed_products(order: Order) -> dict[int, Review]:
    """product id -> the buyer's review, for `orders/_review_cta.html` on the order page:
    one query per order and request, however many items the page loops over."""
    cache = g.setdefault("reviewed_products", {})
    if order.id not in cache:
        cache[order.id] = buyer_reviews_by_product(
            order.buyer_id, [item.product_id for item in order.items])
    return cache[order.id]


# --- buyer: write a review ----------------------------------------------------------------


@bp.route("/pesanan/<number>/ulasan/<int:item_id>", methods=["GET", "POST"])
@role_required("customer")
def review_new(number: str, item_id: int):
    order = owned_or_404(select(Order).where(Order.number == number,
                                             Order.buyer_id == current_user.id))
    item = owned_or_404(select(OrderItem).where(OrderItem.id == item_id,
                                                OrderItem.order_id == order.id))
    typed = {"rating": request.form.get("rating", ""),
             "comment": request.form.get("comment", "")}
    if request.method == "GET":
        try:  # not delivered, or reviewed already: no form to fill in (409)
            review_check(buyer=current_user, order=order, item=item)
        except ReviewError as error:
            return render_error(409, error.message)
    else:
        try:
            review_create(buyer=current_user, order=order, item=item,
                          rating=parse_int(typed["rating"]), comment=typed["comment"])
            db.session.commit()
        except ReviewError as error:
            db.session.rollback()
            if error.status == 409:
                return render_error(409, error.message)
            return _review_form(order.number, item_id, typed, {error.field: error.message},
                                status=422)
        flash(_("Terima kasih! Ulasan Anda untuk %(product)s sudah tayang.",
                product=item.product_name), "success")
        return see_other(url_for("orders.order_detail", number=order.number))
    return _review_form(order.number, item_id, typed, {})


def _review_form(number: str, item_id: int, typed: dict, errors: dict, status: int = 200):
    # Re-read after a rollback (which expires every loaded object).
    item = db.session.scalars(select(OrderItem).where(OrderItem.id == item_id)).one()
    return render_page("orders/review_new.html", http_status=status, number=number,
                       item=item, typed=typed, errors=errors, ratings=RATINGS,
                       max_comment=MAX_COMMENT)


# --- public: a product's reviews ----------------------------------------------------------


@bp.route("/produk/<int:product_id>/ulasan")
def product_reviews(product_id: int):
    """All reviews of a product, 10 a page; htmx (the product page's "more") gets the list.
    404 for an unknown product, or an archived one to anybody but its seller."""
    product = db.session.get(Product, product_id)
    if product is None or not product_visible(product, current_user):
        abort(404)
    reviews = product_reviews_page(product.id, parse_int(request.args.get("hal")))
    return render_page("orders/product_reviews.html", "orders/_review_list.html",
                       product=product, reviews=reviews)


# --- seller: reviews and the reply --------------------------------------------------------



def _list_args() -> dict:
    """The list state (filter, page) kept through a reply and its redirect."""
    args = {}
    if request.values.get("belum") == "1":
        args["belum"] = "1"
    page = parse_int(request.values.get("hal"))
    if page and page > 1:
        args["hal"] = page
    return args


def _seller_page(shop: Store, *, status: int = 200, reply_error: tuple[int, str] | None = None,
                 typed: str = ""):
    args = _list_args()
    reviews = store_reviews(shop.id, unreplied="belum" in args, page=args.get("hal", 1))
    return render_page("orders/seller_reviews.html", "orders/_seller_review_list.html",
                       http_status=status, shop=shop, reviews=reviews, list_args=args,
                       reply_error=reply_error, reply_typed=typed, max_reply=MAX_REPLY)


@bp.route("/seller/ulasan")
@role_required("seller")
def seller_reviews():
    return _seller_page(my_store())


@bp.route("/seller/ulasan/<int:review_id>/balas", methods=["POST"])
@role_required("seller")
def review_reply_route(review_id: int):
    shop = my_store()
    review = owned_or_404(select(Review).where(Review.id == review_id,
                                               Review.store_id == shop.id))
    typed = request.form.get("reply", "")
    try:
        review_reply(seller_store=shop, review=review, reply=typed)
        db.session.commit()
    except ReviewError as error:
        db.session.rollback()
        if error.status == 409:
            return render_error(409, error.message)
        if is_htmx():
            return _review_item(review_id, error=error.message, typed=typed, status=422)
        return _seller_page(shop, status=422, reply_error=(review_id, error.message),
                            typed=typed)
    if is_htmx():
        return _review_item(review_id)
    flash(_("Balasan terkirim."), "success")
    return see_other(url_for("orders.seller_reviews", **_list_args()) + f"#review-{review_id}")


def _review_item(review_id: int, *, error: str | None = None, typed: str = "",
                 status: int = 200):
    review = db.session.scalars(select(Review).where(Review.id == review_id)).one()
    return render_page("orders/_review_item.html", http_status=status, review=review,
                       error=error, typed=typed, list_args=_list_args(),
                       max_reply=MAX_REPLY)
